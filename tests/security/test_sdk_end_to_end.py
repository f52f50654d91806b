"""The Python SDK and its command over mutual TLS with a token, on the embedded models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.pki import TOKEN, Pki
from vaeserve.client import AsyncClient, Client, ClientOptions, UnauthenticatedError
from vaeserve.client.cli import main as client_main
from vaeserve.server.settings import embedded_repository

MODEL = "fashion-mnist"


@pytest.fixture(scope="module")
def locked_server(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    """The embedded models behind mutual TLS and the bearer token (from the environment)."""
    settings = server_settings(
        model_repository=embedded_repository(),
        tls_cert_file=pki.server.cert_file,
        tls_key_file=pki.server.key_file,
        tls_client_ca_file=pki.ca.cert_file,
        auth_token=TOKEN,
    )
    with start_server(settings) as running:
        yield running


def options(pki: Pki, token: str | None = TOKEN) -> ClientOptions:
    return ClientOptions(
        root_certificates=pki.ca.cert,
        private_key=pki.client.key,
        certificate_chain=pki.client.cert,
        token=token,
        timeout=60.0,
    )


def test_the_sdk_samples_over_mutual_tls_with_the_token(locked_server: Any, pki: Pki) -> None:
    with Client(locked_server.address, options=options(pki)) as client:
        result = client.sample(MODEL, 3, seed=1)
    assert result.images.shape == (3, 1, 28, 28)


def test_the_async_sdk_encodes_over_mutual_tls_with_the_token(locked_server: Any, pki: Pki) -> None:
    async def encode() -> Any:
        async with AsyncClient(locked_server.address, options=options(pki)) as client:
            samples = await client.sample(MODEL, 2, seed=2)
            return await client.encode(MODEL, samples.images)

    assert asyncio.run(encode()).mean.shape == (2, 32)


def test_the_sdk_without_the_token_raises_unauthenticated(locked_server: Any, pki: Pki) -> None:
    with (
        Client(locked_server.address, options=options(pki, token=None)) as client,
        pytest.raises(UnauthenticatedError),
    ):
        client.list_models()


def test_the_client_command_lists_models_over_mutual_tls(
    locked_server: Any, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--target", locked_server.address, "--token", TOKEN, "--ca-cert", str(pki.ca.cert_file)]
    argv += ["--cert", str(pki.client.cert_file), "--key", str(pki.client.key_file), "models"]
    assert client_main(argv) == 0
    assert MODEL in capsys.readouterr().out
