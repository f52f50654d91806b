"""TLS files and tokens the server cannot use stop `vaeserve serve` with one clear line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from tests.security.pki import Pki
from vaeserve.server.app import create_server
from vaeserve.server.errors import SecurityConfigError
from vaeserve.server.security.credentials import read_tls_files
from vaeserve.server.settings import Settings


def serve(*flags: str) -> subprocess.CompletedProcess[str]:
    """`vaeserve serve` on an ephemeral port with ``flags``, expected to stop at once."""
    command = [sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--metrics-port", "-1", "--http-port", "-1", *flags]  # a later --port wins
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_missing_certificate_file_stops_the_server_with_its_name(
    pki: Pki, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.crt"
    result = serve("--tls-cert-file", str(missing), "--tls-key-file", str(pki.server.key_file))
    assert result.returncode != 0
    assert f"TLS certificate (--tls-cert-file) {missing} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_key_of_another_certificate_stops_the_server(pki: Pki) -> None:
    result = serve(
        "--tls-cert-file", str(pki.server.cert_file), "--tls-key-file", str(pki.client.key_file)
    )
    assert result.returncode != 0
    assert "does not belong to the certificate" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_token_file_stops_the_server(tmp_path: Path) -> None:
    result = serve("--auth-token-file", str(tmp_path / "no-token"))
    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_certificate_without_its_key_is_refused(pki: Pki) -> None:
    with pytest.raises(ValueError, match="give both or neither"):
        Settings(tls_cert_file=pki.server.cert_file)


def test_a_client_ca_without_a_server_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(ValueError, match="needs tls_cert_file"):
        Settings(tls_client_ca_file=pki.ca.cert_file)


def test_a_file_that_is_not_pem_is_refused(pki: Pki, tmp_path: Path) -> None:
    garbage = tmp_path / "cert.der"
    garbage.write_bytes(b"\x30\x82 not pem")
    settings = Settings(tls_cert_file=garbage, tls_key_file=pki.server.key_file)
    with pytest.raises(SecurityConfigError, match="is not a PEM file"):
        read_tls_files(settings)


def test_an_encrypted_key_is_refused_with_the_reason(pki: Pki, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(pki.server.key, password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    settings = Settings(tls_cert_file=pki.server.cert_file, tls_key_file=encrypted)
    with pytest.raises(SecurityConfigError, match="is encrypted"):
        read_tls_files(settings)


def test_a_damaged_client_ca_is_refused(pki: Pki, tmp_path: Path) -> None:
    damaged = tmp_path / "ca.crt"
    damaged.write_bytes(
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    )
    settings = Settings(
        tls_cert_file=pki.server.cert_file,
        tls_key_file=pki.server.key_file,
        tls_client_ca_file=damaged,
    )
    with pytest.raises(SecurityConfigError, match=r"client CA .* cannot be parsed"):
        read_tls_files(settings)


def test_a_key_grpc_refuses_at_bind_is_reported_as_a_tls_problem(
    server_settings: Any, pki: Pki
) -> None:
    """Without the cryptography package this is the check that catches a mismatched key."""
    credentials = grpc.ssl_server_credentials([(pki.client.key, pki.server.cert)])
    with pytest.raises(OSError, match="grpc refused the certificate or key"):
        asyncio.run(create_server(server_settings(metrics_port=-1), credentials=credentials))


def test_a_port_in_use_stops_the_server_with_one_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        result = serve("--port", str(holder.getsockname()[1]))
    assert result.returncode != 0
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
