"""The HTTP server: an aiohttp application on the gRPC server's event loop.

:func:`build_http_front` binds the listening socket at once (like gRPC's port, so a port in
use stops start-up with a :class:`BindError` and port 0 is known before ``start``);
:meth:`HttpFront.start` serves it, with TLS when the server has it. A middleware answers
what the router refuses (unknown route 404, wrong method 405) and anything unexpected in
the ``google.rpc.Status`` shape, and counts requests in flight, so that
:meth:`HttpFront.stop` can drain: new requests are refused 503 by the dataplane
(``check_accepting``) while the listener stays open, in-flight ones get the grace period,
then the listener closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.errors import INTERNAL_MESSAGE, BindError, Code, shown
from vaeserve.server.health import HealthState
from vaeserve.server.http import bodies
from vaeserve.server.http.openapi import OpenApiRoute
from vaeserve.server.http.pictures import PictureRoutes
from vaeserve.server.http.probes import Probes
from vaeserve.server.http.routes import RpcRoutes, unknown_custom_method
from vaeserve.server.http.static import StaticFiles
from vaeserve.server.http.status import error_response
from vaeserve.server.metrics import Metrics
from vaeserve.server.security.bearer import BearerToken

log = logging.getLogger(__name__)

WILDCARD_HOSTS = ("0.0.0.0", "::", "")
LISTEN_BACKLOG = 1024
AIOHTTP_SERVER_LOG = "aiohttp.server"


class _ClientMistakes(logging.Filter):
    """aiohttp logs a request it cannot parse (a request line over 8 KiB, a broken header:
    the client's mistake, answered 400) as an error with a traceback, so any client could
    fill the log. Such records are kept only when that logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            return logging.getLogger(AIOHTTP_SERVER_LOG).isEnabledFor(logging.DEBUG)
        return True


def _quiet_client_mistakes() -> None:
    logger = logging.getLogger(AIOHTTP_SERVER_LOG)
    if not any(isinstance(f, _ClientMistakes) for f in logger.filters):
        logger.addFilter(_ClientMistakes())


class HttpFront:
    """The HTTP listener with its application; ``start``, then ``stop`` to drain."""

    def __init__(
        self,
        app: web.Application,
        sock: socket.socket,
        ssl_context: ssl.SSLContext | None,
        health: HealthState,
        body_limit: int,
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        """The largest request body taken, in bytes (413 past it)."""
        self._sock = sock
        self._ssl = ssl_context
        self._health = health
        self._runner: web.AppRunner | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        app.middlewares.append(self._track)

    @property
    def url(self) -> str:
        """Where a browser finds the explorer page."""
        host = "localhost" if self.host in WILDCARD_HOSTS else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self._ssl else 'http'}://{host}:{self.port}/"

    async def start(self) -> None:
        # Handlers are never cancelled when a client goes away (aiohttp's default); the
        # batcher asks the connection instead (routes.abandonment_of).
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.SockSite(self._runner, self._sock, ssl_context=self._ssl, backlog=LISTEN_BACKLOG)
        await site.start()

    async def stop(self, grace: float) -> None:
        """Let requests in flight finish within ``grace`` seconds, then close everything.

        Call after the dataplane stopped accepting: meanwhile new requests are answered 503.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        if self._runner is not None:
            await self._runner.cleanup()
        self._sock.close()

    @web.middleware
    async def _track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self._in_flight += 1
        self._idle.clear()
        try:
            response = await _answer(request, handler)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        if self._health.draining:  # send keep-alive clients to another replica
            response.force_close()
        return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's response; the router's refusals and any bug as google.rpc.Status."""
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as refused:
        unknown = unknown_custom_method(request.method, request.path)
        if unknown is not None:
            return error_response(Code.NOT_FOUND, unknown)
        allowed = ", ".join(sorted(refused.allowed_methods))
        message = f"{request.method} is not allowed on {shown(request.path)}; allowed: {allowed}"
        # grpc-gateway's answer: 405 with UNIMPLEMENTED
        return error_response(Code.UNIMPLEMENTED, message, status=405, headers={"Allow": allowed})
    except web.HTTPNotFound:
        message = f"no route {request.method} {shown(request.path)}; /openapi.json lists them"
        return error_response(Code.NOT_FOUND, message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(Code.RESOURCE_EXHAUSTED, "the request body is too large", status=413)
    except web.HTTPException as refused:  # anything else the framework refuses
        code = Code.INVALID_ARGUMENT if refused.status < 500 else Code.INTERNAL
        return error_response(code, refused.reason, status=refused.status)
    except Exception:
        log.exception("HTTP %s %s failed", request.method, request.path)
        return error_response(Code.INTERNAL, INTERNAL_MESSAGE)


def build_http_front(
    *,
    host: str,
    port: int,
    handlers: VaeHandlers,
    metrics: Metrics,
    health: HealthState,
    token: BearerToken | None,
    grpc_receive_limit: int,
    ssl_context: ssl.SSLContext | None,
    share_port: bool = False,
) -> HttpFront:
    """Bind ``host:port`` and build the application of every route on it; ``share_port``:
    one of several serving processes sharing it (SO_REUSEPORT; see ``bind``)."""
    _quiet_client_mistakes()
    limit = bodies.body_limit(grpc_receive_limit)
    app = web.Application(client_max_size=limit)
    rpc_routes = RpcRoutes(handlers, metrics, token, limit)
    rpc_routes.add_to(app)
    PictureRoutes(rpc_routes).add_to(app)
    Probes(health).add_to(app)
    OpenApiRoute(rpc_routes).add_to(app)
    StaticFiles().add_to(app)  # last: its pattern would take any path
    return HttpFront(app, bind(host, port, share_port=share_port), ssl_context, health, limit)


def bind(host: str, port: int, *, share_port: bool = False) -> socket.socket:
    """A listening socket on ``host:port``, refusing a port another process listens on --
    unless ``share_port``: the workers of ``--workers N`` share it through SO_REUSEPORT,
    their supervisor holding it against anyone else (:mod:`vaeserve.server.supervisor`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server(
            (host, port), family=family, backlog=LISTEN_BACKLOG, reuse_port=share_port
        )
    except OSError as error:
        raise BindError(f"cannot listen for HTTP on {host}:{port}: {error.strerror}") from error
