"""The bearer token on gRPC: every call but health carries ``authorization: Bearer <token>``.

An aio server interceptor, so it runs before grpc deserialises the request or calls the
servicer: a caller without the token gets UNAUTHENTICATED and costs the server no parsing
and no inference. The check itself is :class:`~vaeserve.server.security.bearer.BearerToken`,
shared with every other front.

``grpc.health.v1.Health`` stays open: kubelet and load-balancer probes carry no token, and
a status (SERVING or not) tells a caller nothing about the models. Reflection is *not*
open: it lists every service and message of the server, which is a map for an attacker and
of no use to a caller who may not call anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from vaeserve.server.errors import UnauthenticatedError
from vaeserve.server.rpc.status import grpc_code
from vaeserve.server.security.bearer import BearerToken

HEALTH_SERVICE = "grpc.health.v1.Health"
OPEN_SERVICES: tuple[str, ...] = (HEALTH_SERVICE,)

if TYPE_CHECKING:  # grpc's classes are generic only in its type stubs
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


class BearerTokenInterceptor(_Interceptor):
    """Refuse with UNAUTHENTICATED any call outside ``open_services`` without the token."""

    def __init__(
        self,
        token: str,
        open_services: Sequence[str] = OPEN_SERVICES,
        *,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        """``on_refused`` hears the method name of each refused call ("unknown" for a
        method the server does not have, so callers cannot invent label values)."""
        self._token = BearerToken(token)
        self._open = frozenset(open_services)
        self._on_refused = on_refused

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if _service_of(handler_call_details.method) in self._open:
            return handler
        problem = self.problem(handler_call_details.invocation_metadata)
        if problem is None:
            return handler
        if self._on_refused is not None:
            method = handler_call_details.method.rpartition("/")[2]
            self._on_refused(method if handler is not None else "unknown")
        return _refusing(handler, problem)

    def problem(self, metadata: Any) -> UnauthenticatedError | None:
        """Why ``metadata`` does not authenticate the call, or None when it does."""
        values = [str(value) for key, value in (metadata or ()) if key == "authorization"]
        try:
            self._token.check(values[0] if values else None)
        except UnauthenticatedError as error:
            return error
        return None


def _service_of(method: str) -> str:
    """``/package.Service/Method`` -> ``package.Service``."""
    return method.lstrip("/").partition("/")[0]


def _refusing(
    handler: grpc.RpcMethodHandler[Any, Any] | None, error: UnauthenticatedError
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same streaming kind that aborts at once, reading no request.

    No request deserialiser is set, so an unauthenticated message is never parsed.
    """

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await context.abort(grpc_code(error.code), str(error))

    if handler is not None and handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler is not None and handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler is not None and handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)
