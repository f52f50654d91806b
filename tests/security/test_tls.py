"""TLS and mutual TLS from PEM files: who gets through the handshake and who does not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.security.pki import Pki, insecure_channel, list_models, secure_channel, status_of_call


@pytest.fixture(scope="module")
def tls_server(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    """TLS with the server certificate; no client certificate asked for."""
    settings = server_settings(tls_cert_file=pki.server.cert_file, tls_key_file=pki.server.key_file)
    with start_server(settings) as running:
        yield running


@pytest.fixture(scope="module")
def mtls_server(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    """Mutual TLS: clients must present a certificate signed by the test CA."""
    settings = server_settings(
        tls_cert_file=pki.server.cert_file,
        tls_key_file=pki.server.key_file,
        tls_client_ca_file=pki.ca.cert_file,
    )
    with start_server(settings) as running:
        yield running


def test_a_client_trusting_the_ca_is_served_over_tls(tls_server: Any, pki: Pki) -> None:
    with secure_channel(tls_server.address, pki.credentials()) as channel:
        assert {m.name for m in list_models(channel).models} == {"tiny-grey", "tiny-rgb"}


def test_a_plaintext_client_is_refused_by_a_tls_server(tls_server: Any) -> None:
    with insecure_channel(tls_server.address) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE


def test_a_client_that_does_not_trust_the_servers_ca_is_refused(tls_server: Any, pki: Pki) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.other_ca.cert)
    with secure_channel(tls_server.address, credentials) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_serves_a_client_certificate_from_the_ca(mtls_server: Any, pki: Pki) -> None:
    with secure_channel(mtls_server.address, pki.credentials(pki.client)) as channel:
        assert list_models(channel).models


def test_mutual_tls_refuses_a_client_without_a_certificate(mtls_server: Any, pki: Pki) -> None:
    with secure_channel(mtls_server.address, pki.credentials()) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_certificate_from_another_ca(mtls_server: Any, pki: Pki) -> None:
    with secure_channel(mtls_server.address, pki.credentials(pki.stranger)) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_plaintext_client(mtls_server: Any) -> None:
    with insecure_channel(mtls_server.address) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE
