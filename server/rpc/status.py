"""The one place errors become gRPC statuses, and every RPC is counted and timed.

:func:`rpc` wraps each servicer method: a :class:`RequestError` becomes its status code
(:func:`grpc_code` maps the error tree's :class:`Code` to grpc's) and message; anything
else is a bug, logged once with its traceback and reported as INTERNAL with a fixed text
(no internals leak to clients). The same wrapper records
``vaeserve_requests_total`` and ``vaeserve_request_duration_seconds``, labelled
``protocol="grpc"`` (the HTTP front, :mod:`vaeserve.server.http`, records ``http``), and,
for replies that name the version that answered, ``vaeserve_version_requests_total``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import grpc

from vaeserve.server.errors import INTERNAL_MESSAGE, Code, RequestError
from vaeserve.server.metrics import GRPC, Metrics

log = logging.getLogger(__name__)

# Details travel percent-encoded in a trailer: 2 KiB of UTF-8 stays under grpc's 8 KiB limit.
MAX_DETAILS_BYTES = 2048

_GRPC_CODES = {code: grpc.StatusCode[code.name] for code in Code}
Request = TypeVar("Request")
Reply = TypeVar("Reply")


class ServedHandlers(Protocol):
    """What the wrapper asks of the dataplane behind a servicer, before each call."""

    def model_label(self, request: Any) -> str: ...

    def check_accepting(self) -> None: ...


class MeteredServicer(Protocol):
    """What a servicer offers the wrapper: its dataplane handlers and its metrics."""

    @property
    def handlers(self) -> ServedHandlers: ...

    metrics: Metrics


Handler = Callable[[Any, Request, grpc.aio.ServicerContext[Request, Reply]], Awaitable[Reply]]


def rpc(method: str) -> Callable[[Handler[Request, Reply]], Handler[Request, Reply]]:
    """Decorate the servicer's ``method``: map its errors to statuses, count and time it."""

    def wrap(handler: Handler[Request, Reply]) -> Handler[Request, Reply]:
        @functools.wraps(handler)
        async def guarded(
            self: MeteredServicer,
            request: Request,
            context: grpc.aio.ServicerContext[Request, Reply],
        ) -> Reply:
            started = time.perf_counter()
            model = self.handlers.model_label(request)
            try:
                self.handlers.check_accepting()
                reply = await handler(self, request, context)
            except RequestError as error:
                code, message = grpc_code(error.code), str(error)
            except asyncio.CancelledError:
                _record(self.metrics, method, model, _why_cancelled(context), started)
                raise
            except Exception:
                log.exception("%s failed", method)
                code, message = grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE
            else:
                _record(self.metrics, method, model, grpc.StatusCode.OK, started)
                version = getattr(reply, "model_version", 0)
                if version:  # data-plane replies say which version answered
                    self.metrics.version_answered(reply.model_name, version)  # type: ignore[attr-defined]
                return reply
            # Recorded before the status leaves, so a client never sees an uncounted error.
            _record(self.metrics, method, model, code, started)
            await context.abort(code, fit_for_trailer(message))

        return guarded

    return wrap


def grpc_code(code: Code) -> grpc.StatusCode:
    """grpc's status for a code of the error tree (both follow google.rpc.Code)."""
    return _GRPC_CODES[code]


def fit_for_trailer(message: str) -> str:
    """The message, cut if needed so that no client refuses the trailer that carries it."""
    data = message.encode()
    if len(data) <= MAX_DETAILS_BYTES:
        return message
    return data[:MAX_DETAILS_BYTES].decode(errors="ignore") + " ... (cut)"


def _record(
    metrics: Metrics, method: str, model: str, code: grpc.StatusCode, started: float
) -> None:
    metrics.request_finished(method, model, code.name, time.perf_counter() - started, protocol=GRPC)


def _why_cancelled(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    """gRPC cancels a handler both when its client cancels and when its deadline passes."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        return grpc.StatusCode.DEADLINE_EXCEEDED
    return grpc.StatusCode.CANCELLED
