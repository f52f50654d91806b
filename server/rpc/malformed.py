"""Request bytes that do not parse as the RPC's message are INVALID_ARGUMENT, not UNKNOWN.

grpc's Python server turns the request bytes into a message before any handler runs, and
an exception there (protobuf's ``DecodeError`` on bytes that are not the message, or on a
string field that is not UTF-8) reaches the client as UNKNOWN "Unexpected <class ...>": a
client's mistake reported as if the server had failed, and no handler can catch it.

:class:`MalformedRequestInterceptor` wraps each handler whose request is a single message:
its deserialiser returns an :class:`UnparseableRequest` marker instead of raising, and its
behaviour answers a marker with INVALID_ARGUMENT and a message a person can act on, before the
servicer sees it. Handlers with request streams (reflection) pass through unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc

from vaeserve.server.errors import MalformedRequestError
from vaeserve.server.rpc.status import grpc_code

Context = grpc.aio.ServicerContext[Any, Any]
Deserializer = Callable[[bytes], Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = Callable[[grpc.HandlerCallDetails], Awaitable[Handler]]


@dataclass(frozen=True)
class UnparseableRequest:
    """Stands in for a request whose bytes did not parse; carries the error for the client."""

    error: MalformedRequestError


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Answers unparseable unary requests with INVALID_ARGUMENT on every service it serves."""

    def __init__(self, *, on_refused: Callable[[str], None] | None = None) -> None:
        """``on_refused`` hears the method name (``Encode``) of each request refused here."""
        self._on_refused = on_refused

    async def intercept_service(
        self,
        continuation: Continuation,
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method
        refused = functools.partial(self._refused, method.rpartition("/")[2])
        return _refusing_unparseable(handler, method, refused)

    def _refused(self, method: str) -> None:
        if self._on_refused is not None:
            self._on_refused(method)


def _refusing_unparseable(handler: Handler, method: str, refused: Callable[[], None]) -> Handler:
    """A copy of a unary-request handler that refuses unparseable requests with a clear status
    (calling ``refused`` first)."""
    assert handler.request_deserializer is not None
    deserialize = _tolerant(handler.request_deserializer, method)
    serialize = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _refusing(handler.unary_unary, refused), deserialize, serialize
        )
    streaming: Any = handler.unary_stream
    if inspect.isasyncgenfunction(streaming):
        behaviour = _refusing_stream(streaming, refused)
    elif inspect.iscoroutinefunction(streaming):
        behaviour = _refusing(streaming, refused)
    else:  # a plain generator cannot await an abort; such a handler is left as it was
        return handler
    return grpc.unary_stream_rpc_method_handler(behaviour, deserialize, serialize)


def _tolerant(deserialize: Deserializer, method: str) -> Deserializer:
    """A deserialiser that returns an :class:`UnparseableRequest` where ``deserialize`` raises."""

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        # Whatever a parser raises on these bytes, the bytes came from the client.
        except Exception as error:
            return UnparseableRequest(
                MalformedRequestError(
                    f"the request body of {method} is not a valid serialized request message "
                    f"({error}); send the message the service's .proto declares for this method"
                )
            )

    return parse


def _refusing(
    behaviour: Callable[..., Awaitable[Any]], refused: Callable[[], None]
) -> Callable[..., Awaitable[Any]]:
    """``behaviour``, answering an unparseable request with its error instead."""

    async def answer(request: Any, context: Context) -> Any:
        if isinstance(request, UnparseableRequest):
            refused()
            await context.abort(grpc_code(request.error.code), str(request.error))
        return await behaviour(request, context)

    return answer


def _refusing_stream(
    behaviour: Callable[..., AsyncIterator[Any]], refused: Callable[[], None]
) -> Callable[..., Any]:
    """The streaming ``behaviour``, answering an unparseable request with its error instead."""

    async def answer(request: Any, context: Context) -> AsyncIterator[Any]:
        if isinstance(request, UnparseableRequest):
            refused()
            await context.abort(grpc_code(request.error.code), str(request.error))
        async for reply in behaviour(request, context):
            yield reply

    return answer
