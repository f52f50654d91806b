"""Certificates made on the spot, and channels that present them (helpers of the tests).

``pki`` is a small public-key infrastructure written as PEM files: a CA, a server
certificate for 127.0.0.1 and localhost signed by it, a client certificate signed by it,
and a second, unrelated CA with a client certificate of its own (the one a server must
refuse). EC P-256 keys: quick to make, and what grpc's BoringSSL handles natively.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

TOKEN = "s3cret-token_for.tests"
CALL_TIMEOUT = 60.0  # generous: the machine is shared and may be slow, never a timing test

# Each test channel gets its own subchannels, so a TLS failure on one never reuses another's
# connection to the same address.
CHANNEL_OPTIONS = (("grpc.use_local_subchannel_pool", 1),)


@dataclass(frozen=True)
class Identity:
    """A certificate (PEM), its key (PEM) and the files they were written to."""

    cert: bytes
    key: bytes
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Pki:
    ca: Identity
    server: Identity
    client: Identity
    other_ca: Identity
    stranger: Identity  # a client certificate signed by other_ca

    def credentials(self, client: Identity | None = None) -> grpc.ChannelCredentials:
        """Channel credentials trusting ``ca``, presenting ``client`` when given."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.cert,
            private_key=None if client is None else client.key,
            certificate_chain=None if client is None else client.cert,
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Identity:
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_file, key_file = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    return Identity(cert_pem, key_pem, cert_file, key_file)


def _builder(subject: str, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def make_ca(folder: Path, stem: str) -> tuple[Identity, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(f"vaeserve test {stem}", _name(f"vaeserve test {stem}"), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(folder, stem, cert, key), key


def make_leaf(
    folder: Path,
    stem: str,
    issuer: tuple[Identity, ec.EllipticCurvePrivateKey],
    *,
    server: bool,
) -> Identity:
    """A certificate signed by ``issuer``: for 127.0.0.1 and localhost when ``server``."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_cert = x509.load_pem_x509_certificate(issuer[0].cert)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder("localhost" if server else f"client {stem}", issuer_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return _write(folder, stem, builder.sign(issuer[1], hashes.SHA256()), key)


def make_pki(folder: Path) -> Pki:
    ca = make_ca(folder, "ca")
    other_ca = make_ca(folder, "other-ca")
    return Pki(
        ca=ca[0],
        server=make_leaf(folder, "server", ca, server=True),
        client=make_leaf(folder, "client", ca, server=False),
        other_ca=other_ca[0],
        stranger=make_leaf(folder, "stranger", other_ca, server=False),
    )


def secure_channel(address: str, credentials: grpc.ChannelCredentials) -> grpc.Channel:
    return grpc.secure_channel(address, credentials, options=CHANNEL_OPTIONS)


def insecure_channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)


def bearer(token: str = TOKEN) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token`` as a bearer token."""
    return (("authorization", f"Bearer {token}"),)


def list_models(channel: grpc.Channel, metadata: Any = None) -> pb.ListModelsResponse:
    """ListModels on ``channel``: the cheapest call that passes every check of the server."""
    stub = vae_service_pb2_grpc.VaeServiceStub(channel)
    reply: pb.ListModelsResponse = stub.ListModels(
        pb.ListModelsRequest(), metadata=metadata, timeout=CALL_TIMEOUT
    )
    return reply


def status_of_call(channel: grpc.Channel, metadata: Any = None) -> grpc.StatusCode:
    """The status code ListModels on ``channel`` ends with."""
    try:
        list_models(channel, metadata)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK
