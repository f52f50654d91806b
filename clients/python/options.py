"""How a client reaches the server: one frozen options object turned into its channels.

Retries live in gRPC's service config, not in our code: the channel itself retries
UNAVAILABLE, RESOURCE_EXHAUSTED and a CANCELLED sent by the server with exponential
backoff, and never anything else, so a caller's mistake (INVALID_ARGUMENT) is never sent
twice. A server cancels the calls its gRPC core holds but never admitted when it shuts
down (a rolling update); every vaeserve RPC is idempotent, so sending one again is safe. A
call the caller cancels itself is never retried: gRPC stops at a local cancel.
``round_robin`` spreads calls over every address a ``dns:///`` target resolves to (a
headless Kubernetes Service).

A channel sends all its calls over one connection, and a server started with ``--workers
N`` hands each connection to one of its N processes (SO_REUSEPORT spreads connections, not
calls). ``channels=N`` opens N channels, each with its own connection, and the clients
take them in turn, so one client's calls reach every process.
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
# Names each of several channels; grpc passes unknown arguments through, so channels whose
# index differs never share a subchannel (and so a connection).
CHANNEL_INDEX_ARG = "vaeserve.channel_index"


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """Every knob of a client, fixed when it is built; all keyword-only.

    ``timeout``: default deadline per call in seconds (None: none). ``max_attempts``,
    ``initial_backoff``, ``max_backoff``, ``backoff_multiplier``: gRPC's own retries of
    UNAVAILABLE, RESOURCE_EXHAUSTED and a server's CANCELLED. ``load_balancing``:
    ``"round_robin"`` over every address a name resolves to (the default for ``dns:///``).
    ``tls``, ``root_certificates``, ``private_key``, ``certificate_chain``: TLS and mutual
    TLS, PEM bytes. ``token``: a bearer token for every call. ``channels``: connections to
    open and take in turn; about 4 x N against a server started with ``--workers N``.
    ``max_message_bytes``: the largest message either way.

    Raises:
        ValueError: ``channels`` below 1, ``max_attempts`` outside 1..5, or only one of
            ``private_key`` and ``certificate_chain``.
    """

    target: str = DEFAULT_TARGET
    """``host:port``, or ``dns:///name:port`` for every address of a name; the clients'
    ``target`` argument overrides it."""
    timeout: float | None = 30.0
    """Default deadline of each call in seconds; ``None`` waits forever."""
    max_attempts: int = 5
    """Attempts per call for UNAVAILABLE, RESOURCE_EXHAUSTED and a server's CANCELLED (gRPC
    caps it at 5)."""
    initial_backoff: float = 0.1
    """Seconds before the first retry (gRPC adds jitter)."""
    max_backoff: float = 2.0
    """Longest wait between retries, in seconds."""
    backoff_multiplier: float = 2.0
    """Growth of the wait from one retry to the next."""
    load_balancing: str | None = None
    """``"round_robin"`` to spread calls over every resolved address; gRPC's default is
    pick_first. ``dns:///`` targets get round_robin unless this says otherwise."""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    """Largest message sent or received; the server's ``max_request_bytes`` bounds requests."""
    root_certificates: bytes | None = None
    """PEM roots to trust; turns TLS on."""
    private_key: bytes | None = None
    """PEM key of a client certificate (mutual TLS), with ``certificate_chain``."""
    certificate_chain: bytes | None = None
    """PEM client certificate chain (mutual TLS), with ``private_key``."""
    tls: bool = False
    """Use TLS with the system's roots when no ``root_certificates`` are given."""
    token: str | None = None
    """Bearer token sent as ``authorization: Bearer <token>`` on every call."""
    channels: int = 1
    """gRPC channels (each its own connection) opened to the target; calls take them in
    turn. A channel keeps to one connection and so to one server process: against a server
    started with ``--workers N``, which shares its port between N processes, open about 4 x
    N, since the kernel assigns connections to processes by hash, not in turn."""

    def __post_init__(self) -> None:
        if self.channels < 1:
            raise ValueError("channels must be at least 1")
        if not 1 <= self.max_attempts <= 5:
            raise ValueError("max_attempts must be between 1 and 5 (gRPC's limit)")
        if (self.private_key is None) != (self.certificate_chain is None):
            raise ValueError("private_key and certificate_chain go together (mutual TLS)")

    @property
    def secure(self) -> bool:
        """Whether the channels use TLS."""
        return self.tls or self.root_certificates is not None or self.private_key is not None

    def balancing_policy(self) -> str | None:
        """The load-balancing policy the channels ask for; None leaves gRPC's pick_first."""
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


def channel_options(options: ClientOptions, index: int = 0) -> list[tuple[str, Any]]:
    """Arguments of the ``index``-th channel. gRPC shares one connection between channels
    whose arguments are equal; with several channels each gets its own subchannel pool and
    an argument naming its index, so each really opens its own connection."""
    arguments: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1 if options.max_attempts > 1 else 0),
        ("grpc.service_config", service_config(options)),
        ("grpc.max_send_message_length", options.max_message_bytes),
        ("grpc.max_receive_message_length", options.max_message_bytes),
    ]
    if options.channels > 1:
        arguments += [("grpc.use_local_subchannel_pool", 1), (CHANNEL_INDEX_ARG, index)]
    return arguments


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


def open_channels(options: ClientOptions) -> list[grpc.Channel]:
    """``options.channels`` distinct channels to the target."""
    return [_open_channel(options, index) for index in range(options.channels)]


def _open_channel(options: ClientOptions, index: int) -> grpc.Channel:
    arguments = channel_options(options, index)
    if options.secure:
        credentials = channel_credentials(options)
        return grpc.secure_channel(options.target, credentials, options=arguments)
    return grpc.insecure_channel(options.target, options=arguments)


def open_aio_channels(options: ClientOptions) -> list[grpc.aio.Channel]:
    """``options.channels`` distinct asyncio channels to the target."""
    return [_open_aio_channel(options, index) for index in range(options.channels)]


def _open_aio_channel(options: ClientOptions, index: int) -> grpc.aio.Channel:
    arguments = channel_options(options, index)
    if options.secure:
        credentials = channel_credentials(options)
        return grpc.aio.secure_channel(options.target, credentials, options=arguments)
    return grpc.aio.insecure_channel(options.target, options=arguments)
