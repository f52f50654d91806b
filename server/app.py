"""Build the server: scan the repository, wire the servicers, bind, then load the models.

:func:`create_server` returns a :class:`VaeServer` and the port it bound (ask for port 0
and dial what comes back). ``await server.start()`` listens at once, health saying
NOT_SERVING; ``await server.load_models()`` opens, warms up and announces each model.
``vaeserve serve`` and the tests' fixtures do both. TLS, mutual TLS and the bearer token
come from the settings (:mod:`vaeserve.server.security.credentials`,
:mod:`vaeserve.server.security.bearer`);
``interceptors`` and ``credentials`` let a caller add or replace them. ``worker`` makes the
server one of several serving processes (:mod:`vaeserve.server.worker`): ports shared,
readiness gated on the others.
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

from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.server.dataplane.admin import ADMIN_SERVICE_NAME, AdminHandlers
from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.errors import BindError, Code
from vaeserve.server.health import SERVICE_NAME, HealthState
from vaeserve.server.http.site import HttpFront, build_http_front
from vaeserve.server.inference.batcher import MIN_SPLIT_SIZE
from vaeserve.server.inference.loader import Loader
from vaeserve.server.inference.model_table import ModelTable
from vaeserve.server.inference.pool import InferencePool
from vaeserve.server.inference.repository import HashCache, VersionEntry, scan_repository
from vaeserve.server.inference.sessions import (
    choose_providers,
    inference_threads,
    intra_op_threads,
)
from vaeserve.server.metrics import GRPC, Metrics
from vaeserve.server.model_control import ModelControl
from vaeserve.server.ports import refuse_a_port_in_use
from vaeserve.server.rpc.admin import AdminServicer
from vaeserve.server.rpc.health import HEALTH_SERVICE_NAME, add_health_service
from vaeserve.server.rpc.malformed import MalformedRequestInterceptor
from vaeserve.server.rpc.servicer import VaeServicer
from vaeserve.server.rpc.token_interceptor import BearerTokenInterceptor
from vaeserve.server.security.bearer import BearerToken
from vaeserve.server.security.credentials import (
    read_tls_files,
    read_token,
    server_credentials,
    ssl_context,
)
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
        http: HttpFront | None = None,
        *,
        control: ModelControl,
    ) -> None:
        self.settings = settings
        self.control = control
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
        self.http = http
        self.http_port: int | None = http.port if http is not None else None

    async def start(self) -> None:
        """Serve /metrics and listen for RPCs; models are not ready until load_models.

        /metrics comes first: when its port cannot be bound (taken since create_server
        checked it), nothing has answered a call yet, and the start fails with a
        :class:`BindError` rather than after the gRPC port has opened.
        """
        if self.settings.metrics_port >= 0:
            host = self.settings.metrics_host or self.settings.host
            try:
                self._metrics_http, _ = start_http_server(
                    self.settings.metrics_port, host, registry=self.metrics.registry
                )
            except OSError as error:
                await self.grpc_server.stop(0)  # bound in create_server, never started
                raise BindError(
                    f"cannot serve metrics on {host}:{self.settings.metrics_port}: {error}"
                ) from error
            self.metrics_port = int(self._metrics_http.server_port)
            log.info("metrics on http://%s:%d/metrics", host, self.metrics_port)
        await self.grpc_server.start()
        if self._health_server is not None:
            await self._health_server.start()
        if self.http is not None:
            await self.http.start()
            log.info("explorer on %s", self.http.url)

    async def load_models(self) -> None:
        """Open and warm up every verified version, then mark what is ready SERVING; in poll
        mode, start following the repository."""
        if not self.handlers.table.versions:
            log.warning("no model versions in %s: serving nothing", self.settings.model_repository)
        await self.control.load_all()
        self.control.start_polling()

    async def stop(self, grace: float | None = None) -> None:
        """Turn NOT_SERVING, refuse new RPCs and HTTP requests, let in-flight ones of both
        finish within ``grace``."""
        await self.health.drain()
        self.handlers.stop_accepting()
        await self.control.stop()
        grace = self.settings.grace_period_s if grace is None else grace
        await asyncio.gather(
            self.grpc_server.stop(grace),
            self.http.stop(grace) if self.http is not None else asyncio.sleep(0),
        )
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
    worker: int | None = None,
) -> tuple[VaeServer, int]:
    """Scan the repository, build the servicers and bind; call ``start`` on the result.

    ``worker`` is this process's slot when it is one of several serving processes: its
    ports are then shared with the others (SO_REUSEPORT; the supervisor has checked that
    nobody else holds them), its readiness stays NOT_SERVING until
    :meth:`~vaeserve.server.health.HealthState.set_gate` opens it, and its calls are also
    counted under its slot. None (alone): a port in use is an error.

    Raises a :class:`~vaeserve.server.errors.StartupError` before binding when a TLS file
    or the token cannot be used, the execution provider is not in this onnxruntime, or a
    port (gRPC, metrics, health) is taken.
    """
    tls = read_tls_files(settings)
    token = read_token(settings)
    providers = choose_providers(settings.execution_provider)
    if worker is None:  # a worker's ports are shared on purpose; its supervisor checked them
        _refuse_ports_in_use(settings)
    if credentials is None and tls is not None:
        credentials = server_credentials(tls)
    hashes = HashCache()
    entries = scan_repository(settings.model_repository, hashes)
    limits = message_limits(settings, entries)
    table = ModelTable.from_entries(entries)
    metrics = Metrics(registry if registry is not None else CollectorRegistry(), worker=worker)
    if token is not None:  # outermost: nothing else runs for a caller without the token
        interceptors = [_token_check(token, metrics), *interceptors]
    executor = inference_pool(settings)
    handlers = VaeHandlers(table, settings, executor, limits.receive)
    health = HealthState(gated=worker is not None)
    await health.starting(table.versions)
    grpc_server = grpc.aio.server(
        interceptors=[*interceptors, _malformed_check(metrics)],
        options=_channel_options(settings, limits, share_port=worker is not None),
    )
    loader = Loader(
        settings,
        providers,
        intra_op_threads(settings.intra_op_threads),
        inference_threads(settings.inference_threads, settings.workers),
        executor,
        metrics,
    )
    control = ModelControl(settings, table, loader, health, metrics, hashes)
    servicer = VaeServicer(handlers, metrics)
    pb_grpc.add_VaeServiceServicer_to_server(servicer, grpc_server)  # type: ignore[no-untyped-call]
    # The admin service is on the main port only (behind the token when one is set), never
    # on the health-only port.
    admin_grpc.add_AdminServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AdminServicer(AdminHandlers(control, handlers), metrics), grpc_server
    )
    add_health_service(health, grpc_server)
    if settings.reflection:
        reflection.enable_server_reflection(
            (SERVICE_NAME, ADMIN_SERVICE_NAME, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME),
            grpc_server,
        )
    port = _bind(
        grpc_server, settings.host, settings.port, credentials, "--port", shared=worker is not None
    )
    summary = _security_summary(settings, secure=credentials is not None)
    log.info("gRPC listening on %s:%d (%s)", settings.host, port, summary)
    if token is not None and credentials is None:
        log.warning("the bearer token travels in plaintext: anyone on the path can read it")
    if settings.model_control == "explicit" and token is None:
        log.warning(
            "model control is explicit and no bearer token is set: anyone who can reach the "
            "port can load and unload models"
        )
    health_server = None
    if settings.health_port >= 0:
        health_server = _health_only_server(settings, health, share_port=worker is not None)
    http = None
    if settings.http_port >= 0:
        http = build_http_front(
            host=settings.http_host or settings.host,
            port=settings.http_port,
            handlers=handlers,
            metrics=metrics,
            health=health,
            token=BearerToken(token) if token is not None else None,
            grpc_receive_limit=limits.receive,
            ssl_context=ssl_context(tls, settings) if tls is not None else None,
            share_port=worker is not None,
        )
        http_summary = _security_summary(settings, secure=tls is not None, reflection=False)
        log.info("HTTP listening on %s:%d (%s)", http.host, http.port, http_summary)
    server = VaeServer(
        settings,
        grpc_server,
        handlers,
        metrics,
        health,
        executor,
        providers,
        health_server,
        http,
        control=control,
    )
    return server, port


def _health_only_server(
    settings: Settings, health: HealthState, *, share_port: bool
) -> tuple[grpc.aio.Server, int]:
    """A plaintext server with nothing but the health service, sharing the main one's state.

    The kubelet's gRPC probe speaks no TLS; with TLS on, this port is what it can ask. It
    reveals what health reveals anyway (SERVING or not, by service and model name).
    """
    # As on the main port: shared only among the workers of one server.
    server = grpc.aio.server(options=[("grpc.so_reuseport", int(share_port))])
    add_health_service(health, server)
    port = _bind(
        server, settings.host, settings.health_port, None, "--health-port", shared=share_port
    )
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
        metrics.requests.labels(method, "unknown", code.name, GRPC).inc()

    return count


def _channel_options(
    settings: Settings, limits: MessageLimits, *, share_port: bool
) -> list[tuple[str, int]]:
    options = [
        # Alone, no port sharing: a second server on a taken port must fail to start. The
        # workers of one server share theirs; their supervisor holds it against the rest.
        ("grpc.so_reuseport", int(share_port)),
        ("grpc.max_receive_message_length", limits.receive),
        ("grpc.max_send_message_length", limits.send),
    ]
    if settings.max_connection_age_s > 0:
        options.append(("grpc.max_connection_age_ms", int(settings.max_connection_age_s * 1000)))
        options.append(("grpc.max_connection_age_grace_ms", int(settings.grace_period_s * 1000)))
    return options


def _refuse_ports_in_use(settings: Settings) -> None:
    """Every port before any is bound: a taken one stops the start with nothing opened."""
    refuse_a_port_in_use(settings.host, settings.port, "--port")
    if settings.metrics_port > 0:
        metrics_host = settings.metrics_host or settings.host
        refuse_a_port_in_use(metrics_host, settings.metrics_port, "--metrics-port")
    if settings.health_port > 0:
        refuse_a_port_in_use(settings.host, settings.health_port, "--health-port")
    if settings.http_port > 0:
        refuse_a_port_in_use(settings.http_host or settings.host, settings.http_port, "--http-port")


def _bind(
    server: grpc.aio.Server,
    host: str,
    port: int,
    creds: grpc.ServerCredentials | None,
    flag: str,
    *,
    shared: bool = False,
) -> int:
    if not shared:
        refuse_a_port_in_use(host, port, flag)
    address = f"{host}:{port}"
    try:
        if creds is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, creds)
    except RuntimeError as error:
        if creds is not None:  # grpc reports a certificate it cannot use as a bind failure
            raise BindError(
                f"cannot listen on {address} with TLS: grpc refused the certificate or key "
                f"(are both PEM, and does the key belong to the certificate?): {error}"
            ) from error
        raise BindError(f"cannot listen on {address}: {error}") from error
    if bound == 0:
        raise BindError(f"cannot listen on {address}: the port is in use or the address is wrong")
    return bound


def inference_pool(settings: Settings) -> Executor:
    """The inference workers: under --fair-share a niced pool that runs small batches first
    (server/inference/pool.py), else the plain first-come thread pool."""
    workers = inference_threads(settings.inference_threads, settings.workers)
    if settings.fair_share:
        return InferencePool(
            workers, small_below=MIN_SPLIT_SIZE, niceness=settings.inference_niceness
        )
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vaeserve-inference")


def _security_summary(settings: Settings, *, secure: bool, reflection: bool = True) -> str:
    """One phrase for the start-up log: what a caller must bring."""
    if settings.tls_client_ca_file is not None:
        transport = "mutual TLS"
    else:
        transport = "TLS" if secure else "plaintext"
    token = settings.auth_token is not None or settings.auth_token_file is not None
    parts = [transport, "bearer token required" if token else "no token"]
    if reflection:
        parts.append("reflection on" if settings.reflection else "reflection off")
    return ", ".join(parts)
