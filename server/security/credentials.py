"""Start-up half of security: TLS credentials from PEM files and the bearer token to expect.

Everything here runs once, before the server binds, so that a missing file, a key that does
not belong to its certificate or an empty token stops ``vaeserve serve`` with one line that
names the file and the problem, instead of grpc's "Failed to bind" or a traceback.

- ``tls_cert_file`` + ``tls_key_file``: TLS. Adding ``tls_client_ca_file``: mutual TLS,
  clients must present a certificate signed by one of those CAs (grpc checks it in the
  handshake, before any request is read). The HTTP port uses the same files through
  :func:`ssl_context`, with the same rules.
- ``auth_token_file`` or ``auth_token`` (``VAESERVE_AUTH_TOKEN``): the bearer token that
  :class:`vaeserve.server.security.bearer.BearerTokenInterceptor` checks on every call.

The certificate/key checks use the ``cryptography`` package when it is installed; without
it the files are still read and checked for PEM markers, and grpc's bind failure is turned
into a message about the certificate and key (see :func:`vaeserve.server.app.create_server`).
"""

from __future__ import annotations

import datetime
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc

from vaeserve.server.errors import SecurityConfigError
from vaeserve.server.settings import Settings

log = logging.getLogger(__name__)

PEM_MARKER = b"-----BEGIN "


@dataclass(frozen=True)
class TlsFiles:
    """The PEM bytes of the server's certificate chain, its key and the client CAs."""

    cert_chain: bytes
    key: bytes
    client_ca: bytes | None

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None


def read_tls_files(settings: Settings) -> TlsFiles | None:
    """The TLS material named by ``settings``, checked; None when TLS is off."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    files = TlsFiles(
        cert_chain=_read_pem(settings.tls_cert_file, "TLS certificate (--tls-cert-file)"),
        key=_read_pem(settings.tls_key_file, "TLS key (--tls-key-file)"),
        client_ca=(
            _read_pem(settings.tls_client_ca_file, "client CA (--tls-client-ca-file)")
            if settings.tls_client_ca_file is not None
            else None
        ),
    )
    _check_with_cryptography(files, settings)
    return files


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """grpc credentials for ``files``; with a client CA, a client certificate is required."""
    return grpc.ssl_server_credentials(
        [(files.key, files.cert_chain)],
        root_certificates=files.client_ca,
        require_client_auth=files.mutual,
    )


def ssl_context(files: TlsFiles, settings: Settings) -> ssl.SSLContext:
    """The HTTP port's TLS, from the same files as gRPC's: TLS 1.2 or later, and with a
    client CA a client certificate is required in the handshake, as grpc requires it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    assert settings.tls_cert_file is not None and settings.tls_key_file is not None
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        if files.client_ca is not None:
            context.load_verify_locations(cadata=files.client_ca.decode("ascii", "replace"))
            context.verify_mode = ssl.CERT_REQUIRED
    except (ssl.SSLError, ValueError) as error:
        raise SecurityConfigError(
            f"the TLS certificate {settings.tls_cert_file} and key {settings.tls_key_file} "
            f"cannot serve HTTPS (are both PEM, and does the key belong to the certificate?): "
            f"{error}"
        ) from error
    context.set_alpn_protocols(["http/1.1"])
    return context


def read_token(settings: Settings) -> str | None:
    """The bearer token from ``auth_token_file`` or ``auth_token``; None when auth is off.

    Surrounding whitespace is dropped (files end in a newline). A token must be printable
    ASCII without spaces: gRPC metadata cannot carry anything else, so a client could never
    send it.
    """
    if settings.auth_token_file is not None:
        raw = _read(settings.auth_token_file, "token file (--auth-token-file)")
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError as error:
            raise SecurityConfigError(
                f"token file {settings.auth_token_file} is not ASCII text"
            ) from error
        source = f"token file {settings.auth_token_file}"
    elif settings.auth_token is not None:
        token, source = settings.auth_token.strip(), "VAESERVE_AUTH_TOKEN"
    else:
        return None
    if not token:
        raise SecurityConfigError(f"{source} holds no token")
    if not all(0x21 <= ord(char) <= 0x7E for char in token):
        raise SecurityConfigError(f"{source}: the token must be printable ASCII without spaces")
    return token


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as error:
        raise SecurityConfigError(f"{what} {path} does not exist") from error
    except OSError as error:
        raise SecurityConfigError(f"{what} {path} cannot be read: {error.strerror}") from error


def _read_pem(path: Path, what: str) -> bytes:
    data = _read(path, what)
    if PEM_MARKER not in data:
        raise SecurityConfigError(f"{what} {path} is not a PEM file (no '-----BEGIN' line)")
    return data


def _check_with_cryptography(files: TlsFiles, settings: Settings) -> None:
    """Parse the PEM files and check that the key belongs to the first certificate.

    grpc only notices a mismatched key when it binds, and then says "Failed to bind".
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError:  # the serving install may lack it: grpc's bind check remains
        log.debug("cryptography is not installed: TLS files are checked by grpc at bind time")
        return
    cert_path, key_path = settings.tls_cert_file, settings.tls_key_file
    try:
        chain = x509.load_pem_x509_certificates(files.cert_chain)
    except ValueError as error:
        raise SecurityConfigError(
            f"TLS certificate {cert_path} cannot be parsed: {error}"
        ) from error
    try:
        key = serialization.load_pem_private_key(files.key, password=None)
    except TypeError as error:  # cryptography's word for "encrypted, and no password given"
        raise SecurityConfigError(
            f"TLS key {key_path} is encrypted; vaeserve needs an unencrypted PEM key"
        ) from error
    except ValueError as error:
        raise SecurityConfigError(f"TLS key {key_path} cannot be parsed: {error}") from error
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if chain[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise SecurityConfigError(
            f"TLS key {key_path} does not belong to the certificate {cert_path} "
            "(their public keys differ)"
        )
    if chain[0].not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        log.warning("TLS certificate %s expired on %s", cert_path, chain[0].not_valid_after_utc)
    if files.client_ca is not None:
        try:
            x509.load_pem_x509_certificates(files.client_ca)
        except ValueError as error:
            raise SecurityConfigError(
                f"client CA {settings.tls_client_ca_file} cannot be parsed: {error}"
            ) from error
