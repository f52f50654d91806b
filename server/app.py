"""Build the server: scan the repository, wire the servicers, bind, then load the models.

:func:`create_server` returns a :class:`VaeServer` and the port it bound (ask for port 0
and dial what comes back). ``await server.start()`` listens at once, health saying
NOT_SERVING; ``await server.load_models()`` opens, warms up and announces each model.
``vaeserve serve`` and the tests' fixtures do both. TLS, mutual TLS and the bearer token
come from the settings (:mod:`vaeserve.server.security.credentials`,
:mod:`vaeserve.server.security.bearer`);
``interceptors`` and ``credentials`` let a caller add or replace them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry, start_http_server

from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.errors import BindError, Code
from vaeserve.server.health import SERVICE_NAME, HealthState
from vaeserve.server.inference.batcher import MIN_SPLIT_SIZE
from vaeserve.server.inference.loader import Loader
from vaeserve.server.inference.model_table import ModelTable
from vaeserve.server.inference.pool import InferencePool
from vaeserve.server.inference.repository import VersionEntry, scan_repository
from vaeserve.server.inference.sessions import (
    choose_providers,
    inference_threads,
    intra_op_threads,
)
from vaeserve.server.metrics import Metrics
from vaeserve.server.rpc.health import HEALTH_SERVICE_NAME, add_health_service
from vaeserve.server.rpc.malformed import MalformedRequestInterceptor
from vaeserve.server.rpc.servicer import VaeServicer
from vaeserve.server.rpc.token_interceptor import BearerTokenInterceptor
from vaeserve.server.security.credentials import read_tls_files, read_token, server_credentials
from vaeserve.server.settings import Settings
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

DEFAULT_MESSAGE_BYTES = 4 << 20
ENVELOPE_BYTES = 64 << 10  # names, shapes and field tags around the payload


@dataclass(frozen=True)
class MessageLimits:
    receive: int
    send: int


def message_limits(settings: Settings, entries: Sequence[VersionEntry]) -> MessageLimits:
    """Byte limits that fit the largest request the configured limits allow, and no more."""
    manifests = [e.manifest for e in entries if e.manifest is not None]
    if not manifests:
        return MessageLimits(DEFAULT_MESSAGE_BYTES, DEFAULT_MESSAGE_BYTES)
    pixels = max(math.prod(m.image_shape.as_tuple()) for m in manifests)
    latent = max(m.latent_dim for m in manifests)
    item_in = max(4 * pixels, settings.max_png_bytes + 16, 4 * latent) + 16
    item_out = 4 * pixels + 3 * 4 * latent + 64
    items = settings.max_items_per_request
    return MessageLimits(items * item_in + ENVELOPE_BYTES, items * item_out + ENVELOPE_BYTES)


class VaeServer:
    """The gRPC server with its models, thread pool and metrics endpoint."""

    def __init__(
        self,
        settings: Settings,
        grpc_server: grpc.aio.Server,
        handlers: VaeHandlers,
        metrics: Metrics,
        health: HealthState,
        executor: Executor,
        providers: list[str],
        health_server: tuple[grpc.aio.Server, int] | None = None,
    ) -> None:
        self.settings = settings
        self.grpc_server = grpc_server
        self.handlers = handlers
        self.metrics = metrics
        self.health = health
        self._providers = providers
        self._executor = executor
        self._health_server: grpc.aio.Server | None = None
        self.health_port: int | None = None
        if health_server is not None:
            self._health_server, self.health_port = health_server
        self._metrics_http: WSGIServer | None = None
        self.metrics_port: int | None = None

    async def start(self) -> None:
        """Listen for RPCs and serve /metrics; models are not ready until load_models."""
        await self.grpc_server.start()
        if self._health_server is not None:
            await self._health_server.start()
        if self.settings.metrics_port >= 0:
            host = self.settings.metrics_host or self.settings.host
            self._metrics_http, _ = start_http_server(
                self.settings.metrics_port, host, registry=self.metrics.registry
            )
            self.metrics_port = int(self._metrics_http.server_port)
            log.info("metrics on http://%s:%d/metrics", host, self.metrics_port)

    async def load_models(self) -> None:
        """Open and warm up every verified version, then mark what is ready SERVING."""
        settings = self.settings
        loader = Loader(
            settings,
            self._providers,
            intra_op_threads(settings.intra_op_threads),
            inference_threads(settings.inference_threads),
            self._executor,
            self.metrics,
        )
        loop = asyncio.get_running_loop()
        table = self.handlers.table
        if not table.versions:
            log.warning("no model versions in %s: serving nothing", settings.model_repository)
        for entry in table.loading():
            try:
                model = await loop.run_in_executor(self._executor, loader.load, entry)
            except Exception as error:  # a version onnxruntime refuses fails alone
                reason = f"cannot serve it: {error}"
                table.mark_failed(entry, reason)
                log.error("refused model %s version %d: %s", entry.name, entry.version, reason)
                continue
            model.start()
            table.mark_ready(model)
            self.metrics.model_info.labels(
                model.manifest.name, str(model.manifest.version), model.provider
            ).set(1)
            log.info(
                "loaded model %s version %d on %s, latent size %d",
                model.manifest.name,
                model.manifest.version,
                model.provider,
                model.manifest.latent_dim,
            )
        for name in table.versions:
            await self.health.set(name, bool(table.ready_versions(name)))
        any_ready = any(table.ready_versions(name) for name in table.versions)
        await self.health.set(SERVICE_NAME, any_ready)

    async def stop(self, grace: float | None = None) -> None:
        """Turn NOT_SERVING, refuse new RPCs, let in-flight ones finish within ``grace``."""
        await self.health.drain()
        self.handlers.stop_accepting()
        await self.grpc_server.stop(self.settings.grace_period_s if grace is None else grace)
        if self._health_server is not None:  # probes see NOT_SERVING until the drain ends
            await self._health_server.stop(0)
        for model in self.handlers.table.served_models():
            await model.close()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        if self._metrics_http is not None:
            await asyncio.to_thread(self._metrics_http.shutdown)
            self._metrics_http.server_close()

    async def wait_for_termination(self) -> None:
        await self.grpc_server.wait_for_termination()


async def create_server(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[VaeServer, int]:
    """Scan the repository, build the servicers and bind; call ``start`` on the result.

    Raises a :class:`~vaeserve.server.errors.StartupError` before binding when a TLS file
    or the token cannot be used, or the execution provider is not in this onnxruntime.
    """
    tls = read_tls_files(settings)
    token = read_token(settings)
    providers = choose_providers(settings.execution_provider)
    if credentials is None and tls is not None:
        credentials = server_credentials(tls)
    entries = scan_repository(settings.model_repository)
    limits = message_limits(settings, entries)
    table = ModelTable.from_entries(entries)
    metrics = Metrics(registry if registry is not None else CollectorRegistry())
    if token is not None:  # outermost: nothing else runs for a caller without the token
        interceptors = [_token_check(token, metrics), *interceptors]
    executor = inference_pool(settings)
    handlers = VaeHandlers(table, settings, executor, limits.receive)
    health = HealthState()
    await health.starting(table.versions)
    grpc_server = grpc.aio.server(
        interceptors=[*interceptors, _malformed_check(metrics)],
        options=_channel_options(settings, limits),
    )
    servicer = VaeServicer(handlers, metrics)
    pb_grpc.add_VaeServiceServicer_to_server(servicer, grpc_server)  # type: ignore[no-untyped-call]
    add_health_service(health, grpc_server)
    if settings.reflection:
        reflection.enable_server_reflection(
            (SERVICE_NAME, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME), grpc_server
        )
    port = _bind(grpc_server, f"{settings.host}:{settings.port}", credentials)
    summary = _security_summary(settings, secure=credentials is not None)
    log.info("gRPC listening on %s:%d (%s)", settings.host, port, summary)
    if token is not None and credentials is None:
        log.warning("the bearer token travels in plaintext: anyone on the path can read it")
    health_server = _health_only_server(settings, health) if settings.health_port >= 0 else None
    server = VaeServer(
        settings, grpc_server, handlers, metrics, health, executor, providers, health_server
    )
    return server, port


def _health_only_server(settings: Settings, health: HealthState) -> tuple[grpc.aio.Server, int]:
    """A plaintext server with nothing but the health service, sharing the main one's state.

    The kubelet's gRPC probe speaks no TLS; with TLS on, this port is what it can ask. It
    reveals what health reveals anyway (SERVING or not, by service and model name).
    """
    # No port sharing, as on the main port: a second server on this port must fail to start.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    add_health_service(health, server)
    port = _bind(server, f"{settings.host}:{settings.health_port}", None)
    log.info("gRPC health (only) on %s:%d, plaintext", settings.host, port)
    return server, port


def _token_check(token: str, metrics: Metrics) -> BearerTokenInterceptor:
    """The token interceptor, its refusals counted in ``vaeserve_requests_total``."""
    return BearerTokenInterceptor(token, on_refused=_refusal_counter(metrics, Code.UNAUTHENTICATED))


def _malformed_check(metrics: Metrics) -> MalformedRequestInterceptor:
    """Unparseable requests are INVALID_ARGUMENT, counted in ``vaeserve_requests_total``."""
    return MalformedRequestInterceptor(on_refused=_refusal_counter(metrics, Code.INVALID_ARGUMENT))


def _refusal_counter(metrics: Metrics, code: Code) -> Callable[[str], None]:
    """Counts a call an interceptor refused by method; the request was never parsed, so the
    model is ``unknown``."""

    def count(method: str) -> None:
        metrics.requests.labels(method, "unknown", code.name).inc()

    return count


def _channel_options(settings: Settings, limits: MessageLimits) -> list[tuple[str, int]]:
    options = [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", limits.receive),
        ("grpc.max_send_message_length", limits.send),
    ]
    if settings.max_connection_age_s > 0:
        options.append(("grpc.max_connection_age_ms", int(settings.max_connection_age_s * 1000)))
        options.append(("grpc.max_connection_age_grace_ms", int(settings.grace_period_s * 1000)))
    return options


def _bind(server: grpc.aio.Server, address: str, creds: grpc.ServerCredentials | None) -> int:
    try:
        if creds is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, creds)
    except RuntimeError as error:
        if creds is not None:  # grpc reports a certificate it cannot use as a bind failure
            raise BindError(
                f"cannot listen on {address} with TLS: grpc refused the certificate or key "
                f"(are both PEM, and does the key belong to the certificate?): {error}"
            ) from error
        raise BindError(f"cannot listen on {address}: {error}") from error
    if port == 0:
        raise BindError(f"cannot listen on {address}: the port is in use or the address is wrong")
    return port


def inference_pool(settings: Settings) -> Executor:
    """The inference workers: under --fair-share a niced pool that runs small batches first
    (server/inference/pool.py), else the plain first-come thread pool."""
    workers = inference_threads(settings.inference_threads)
    if settings.fair_share:
        return InferencePool(
            workers, small_below=MIN_SPLIT_SIZE, niceness=settings.inference_niceness
        )
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vaeserve-inference")


def _security_summary(settings: Settings, *, secure: bool) -> str:
    """One phrase for the start-up log: what a caller must bring."""
    if settings.tls_client_ca_file is not None:
        transport = "mutual TLS"
    else:
        transport = "TLS" if secure else "plaintext"
    token = settings.auth_token is not None or settings.auth_token_file is not None
    return ", ".join(
        [
            transport,
            "bearer token required" if token else "no token",
            "reflection on" if settings.reflection else "reflection off",
        ]
    )
