"""TLS, mutual TLS and the bearer token on the HTTP port: the same rules as on gRPC."""

from __future__ import annotations

import ssl
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http_calls import call
from tests.security.pki import TOKEN, Identity, Pki
from tests.serve_process import metric_sum
from vaeserve.server.security.bearer import MISSING, REFUSED


def client_context(pki: Pki, client: Identity | None = None) -> ssl.SSLContext:
    """Trusts the test CA; presents ``client``'s certificate when given."""
    context = ssl.create_default_context(cafile=str(pki.ca.cert_file))
    if client is not None:
        context.load_cert_chain(client.cert_file, client.key_file)
    return context


@pytest.fixture(scope="module")
def token_http(token_server: Any) -> str:
    return f"http://127.0.0.1:{token_server.server.http_port}"


@pytest.fixture(scope="module")
def tls_server(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    settings = server_settings(tls_cert_file=pki.server.cert_file, tls_key_file=pki.server.key_file)
    with start_server(settings, load_models=False) as running:
        yield running


@pytest.fixture(scope="module")
def mtls_server(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    settings = server_settings(
        tls_cert_file=pki.server.cert_file,
        tls_key_file=pki.server.key_file,
        tls_client_ca_file=pki.ca.cert_file,
    )
    with start_server(settings, load_models=False) as running:
        yield running


def test_a_call_without_the_token_is_401_naming_the_scheme(token_http: str) -> None:
    answer = call(f"{token_http}/v1/models")
    assert answer.status == 401
    assert answer.json() == {"code": 16, "message": MISSING, "details": []}
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_401(token_http: str) -> None:
    answer = call(f"{token_http}/v1/models", headers={"Authorization": "Bearer nope"})
    assert (answer.status, answer.json()["message"]) == (401, REFUSED)


def test_the_token_opens_every_rpc_route(token_http: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert call(f"{token_http}/v1/models", headers=headers).status == 200
    body = b'{"count": 2, "seed": "1"}'
    assert (
        call(f"{token_http}/v1/models/tiny-grey:sample", "POST", body, headers=headers).status
        == 200
    )


def test_the_token_is_checked_before_the_body_is_read(token_http: str) -> None:
    answer = call(f"{token_http}/v1/models/tiny-grey:decode", "POST", b"not json at all")
    assert answer.status == 401


def test_pictures_and_the_openapi_document_need_the_token(token_http: str) -> None:
    for path in ("/v1/models/tiny-grey/samples.png?count=1", "/openapi.json"):
        assert call(f"{token_http}{path}").status == 401, path


def test_probes_and_the_page_need_no_token(token_http: str) -> None:
    for path in ("/healthz", "/readyz"):
        assert call(f"{token_http}{path}").status == 200, path
    assert call(f"{token_http}/no-such-file.js").status == 404  # not 401: the page is public


def test_a_client_trusting_the_ca_is_served_over_https(tls_server: Any, pki: Pki) -> None:
    url = f"https://localhost:{tls_server.server.http_port}/healthz"
    assert call(url, context=client_context(pki)).status == 200


def test_plaintext_http_gets_no_answer_from_a_tls_port(tls_server: Any) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        call(f"http://127.0.0.1:{tls_server.server.http_port}/healthz")


def test_mutual_tls_refuses_a_client_without_a_certificate(mtls_server: Any, pki: Pki) -> None:
    url = f"https://localhost:{mtls_server.server.http_port}/healthz"
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        call(url, context=client_context(pki))


def test_mutual_tls_refuses_a_certificate_of_another_ca(mtls_server: Any, pki: Pki) -> None:
    url = f"https://localhost:{mtls_server.server.http_port}/healthz"
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        call(url, context=client_context(pki, pki.stranger))


def test_mutual_tls_serves_a_client_certificate_of_the_ca(mtls_server: Any, pki: Pki) -> None:
    url = f"https://localhost:{mtls_server.server.http_port}/healthz"
    assert call(url, context=client_context(pki, pki.client)).status == 200


def test_refusals_for_the_token_are_counted_as_http(token_server: Any, token_http: str) -> None:
    def refused() -> float:
        url = f"http://127.0.0.1:{token_server.metrics_port}/metrics"
        text = call(url).body.decode()
        labels = {"method": "ListModels", "code": "UNAUTHENTICATED", "protocol": "http"}
        return metric_sum(text, "vaeserve_requests_total", model="unknown", **labels)

    before = refused()
    call(f"{token_http}/v1/models")
    assert refused() == before + 1
