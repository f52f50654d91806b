"""How a client reaches the server: one frozen options object turned into one channel.

Retries live in gRPC's service config, not in our code: the channel itself retries
UNAVAILABLE, RESOURCE_EXHAUSTED and a CANCELLED sent by the server with exponential
backoff, and never anything else, so a caller's mistake (INVALID_ARGUMENT) is never sent
twice. A server cancels the calls its gRPC core holds but never admitted when it shuts
down (a rolling update); every vaeserve RPC is idempotent, so sending one again is safe. A
call the caller cancels itself is never retried: gRPC stops at a local cancel.
``round_robin`` spreads calls over every address a ``dns:///`` target resolves to (a
headless Kubernetes Service).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc

DEFAULT_TARGET = "localhost:50051"
# Room for thousands of images per message; GetModelInfo's max_request_bytes bounds requests.
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024
RETRYABLE_CODES = ("UNAVAILABLE", "RESOURCE_EXHAUSTED", "CANCELLED")


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """Every knob of a client, fixed when it is built."""

    target: str = DEFAULT_TARGET
    timeout: float | None = 30.0
    """Default deadline of each call in seconds; ``None`` waits forever."""
    max_attempts: int = 5
    """Attempts per call for UNAVAILABLE, RESOURCE_EXHAUSTED and a server's CANCELLED (gRPC
    caps it at 5)."""
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    backoff_multiplier: float = 2.0
    load_balancing: str | None = None
    """``"round_robin"`` to spread calls over every resolved address; gRPC's default is
    pick_first. ``dns:///`` targets get round_robin unless this says otherwise."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    tls: bool = False
    """Use TLS with the system's roots when no ``root_certificates`` are given."""
    token: str | None = None
    """Bearer token sent as ``authorization: Bearer <token>`` on every call."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 5:
            raise ValueError("max_attempts must be between 1 and 5 (gRPC's limit)")
        if (self.private_key is None) != (self.certificate_chain is None):
            raise ValueError("private_key and certificate_chain go together (mutual TLS)")

    @property
    def secure(self) -> bool:
        return self.tls or self.root_certificates is not None or self.private_key is not None

    def balancing_policy(self) -> str | None:
        if self.load_balancing is not None:
            return self.load_balancing
        return "round_robin" if self.target.startswith("dns:") else None


def service_config(options: ClientOptions) -> str:
    method: dict[str, Any] = {"name": [{"service": "vaeserve.v1.VaeService"}]}
    if options.max_attempts > 1:  # gRPC rejects a retry policy of fewer than 2 attempts
        method["retryPolicy"] = {
            "maxAttempts": options.max_attempts,
            "initialBackoff": f"{options.initial_backoff}s",
            "maxBackoff": f"{options.max_backoff}s",
            "backoffMultiplier": options.backoff_multiplier,
            "retryableStatusCodes": list(RETRYABLE_CODES),
        }
    config: dict[str, Any] = {"methodConfig": [method]}
    policy = options.balancing_policy()
    if policy is not None:
        config["loadBalancingConfig"] = [{policy: {}}]
    return json.dumps(config)


def channel_options(options: ClientOptions) -> list[tuple[str, Any]]:
    return [
        ("grpc.enable_retries", 1 if options.max_attempts > 1 else 0),
        ("grpc.service_config", service_config(options)),
        ("grpc.max_send_message_length", options.max_message_bytes),
        ("grpc.max_receive_message_length", options.max_message_bytes),
    ]


class _BearerToken(grpc.AuthMetadataPlugin):
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def __call__(
        self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback
    ) -> None:
        callback(self._metadata, None)


def channel_credentials(options: ClientOptions) -> grpc.ChannelCredentials:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=options.root_certificates,
        private_key=options.private_key,
        certificate_chain=options.certificate_chain,
    )
    if options.token is not None:
        token = grpc.metadata_call_credentials(_BearerToken(options.token))
        credentials = grpc.composite_channel_credentials(credentials, token)
    return credentials


def call_metadata(options: ClientOptions) -> tuple[tuple[str, str], ...]:
    """Metadata for each call: the token travels here on a plaintext channel, where gRPC
    refuses call credentials (use TLS outside a trusted network)."""
    if options.token is not None and not options.secure:
        return (("authorization", f"Bearer {options.token}"),)
    return ()


def open_channel(options: ClientOptions) -> grpc.Channel:
    if options.secure:
        return grpc.secure_channel(
            options.target, channel_credentials(options), options=channel_options(options)
        )
    return grpc.insecure_channel(options.target, options=channel_options(options))


def open_aio_channel(options: ClientOptions) -> grpc.aio.Channel:
    if options.secure:
        return grpc.aio.secure_channel(
            options.target, channel_credentials(options), options=channel_options(options)
        )
    return grpc.aio.insecure_channel(options.target, options=channel_options(options))
