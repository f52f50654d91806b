"""TLS with the bearer token as call credentials, against a real TLS gRPC server."""

from __future__ import annotations

import shutil
import subprocess
from concurrent import futures

import grpc
import pytest

from tests.client.test_options import MetadataRecorder
from vaeserve.client import Client, ClientOptions, UnavailableError
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1, made on the spot with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return key.read_bytes(), cert.read_bytes()


def start_tls_server(
    recorder: MetadataRecorder, key: bytes, cert: bytes
) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    pb_grpc.add_VaeServiceServicer_to_server(recorder, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    server.start()
    return server, port


def test_tls_call_carries_the_token_as_call_credentials(certificate: tuple[bytes, bytes]) -> None:
    key, cert = certificate
    recorder = MetadataRecorder()
    server, port = start_tls_server(recorder, key, cert)
    options = ClientOptions(root_certificates=cert, token="t0ken", timeout=10.0)
    try:
        with Client(f"127.0.0.1:{port}", options=options) as client:
            assert client.list_models() == []
    finally:
        server.stop(None)
    assert ("authorization", "Bearer t0ken") in recorder.seen


def test_untrusted_server_certificate_is_refused(certificate: tuple[bytes, bytes]) -> None:
    key, cert = certificate
    server, port = start_tls_server(MetadataRecorder(), key, cert)
    options = ClientOptions(tls=True, timeout=5.0, max_attempts=1)
    try:
        with (
            Client(f"127.0.0.1:{port}", options=options) as client,
            pytest.raises(UnavailableError),
        ):
            client.list_models()
    finally:
        server.stop(None)
