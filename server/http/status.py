"""The one place errors become HTTP statuses, and every HTTP request of an RPC is counted.

Statuses follow Google's mapping of google.rpc codes to HTTP (``google/rpc/code.proto``,
the table grpc-gateway uses): INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED
429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, CANCELLED 499, UNAUTHENTICATED 401,
INTERNAL 500, and so on. Two error classes are finer than their code: a body over the
limit is 413 and a body in an unread content type 415. The body of every error is shaped
like ``google.rpc.Status``: ``{"code": <the google.rpc code number>, "message": "...",
"details": []}``, as grpc-gateway answers.

:func:`answered` wraps each RPC route as :func:`vaeserve.server.rpc.status.rpc` wraps each
servicer method: a :class:`RequestError` becomes its status, anything else is a bug logged
once and answered 500 with the fixed :data:`INTERNAL_MESSAGE`; the request is counted in
``vaeserve_requests_total{protocol="http"}`` with gRPC's code names, so one alert covers
both fronts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from vaeserve.server.errors import (
    INTERNAL_MESSAGE,
    Code,
    RequestError,
    RequestTooLargeError,
    UnauthenticatedError,
    UnsupportedMediaError,
)
from vaeserve.server.metrics import HTTP, Metrics

log = logging.getLogger(__name__)

HTTP_STATUSES: Mapping[Code, int] = {
    Code.OK: 200,
    Code.CANCELLED: 499,  # nginx's "client closed request"
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}
# Errors whose HTTP status is finer than their code's.
_FINER_STATUSES: tuple[tuple[type[RequestError], int], ...] = (
    (RequestTooLargeError, 413),
    (UnsupportedMediaError, 415),
)
MAX_MESSAGE_CHARS = 2048  # as on gRPC: a client's echoed value never makes a huge body


class Outcome:
    """What an answered request is counted as: its model label, filled in once known."""

    def __init__(self) -> None:
        self.model = "unknown"


def http_status(code: Code) -> int:
    """The HTTP status Google's mapping gives ``code``."""
    return HTTP_STATUSES[code]


def status_of(error: RequestError) -> int:
    for kind, status in _FINER_STATUSES:
        if isinstance(error, kind):
            return status
    return http_status(error.code)


def error_response(
    code: Code, message: str, *, status: int | None = None, headers: Mapping[str, str] = {}
) -> web.Response:
    """A ``google.rpc.Status``-shaped JSON body with ``status`` (by default the code's)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ... (cut)"
    body = json.dumps({"code": int(code), "message": message, "details": []})
    return web.Response(
        status=http_status(code) if status is None else status,
        body=body.encode(),
        content_type="application/json",
        headers=headers,
    )


def refusal(error: RequestError) -> web.Response:
    """The response that tells a client why its request failed."""
    headers = {}
    if isinstance(error, UnauthenticatedError):  # RFC 6750: say which scheme is wanted
        headers["WWW-Authenticate"] = 'Bearer realm="vaeserve"'
    return error_response(error.code, str(error), status=status_of(error), headers=headers)


async def answered(
    metrics: Metrics,
    method: str,
    produce: Callable[[Outcome], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Run ``produce``, turn its errors into statuses, and count the request under ``method``."""
    started = time.perf_counter()
    outcome = Outcome()
    try:
        response = await produce(outcome)
    except RequestError as error:
        _record(metrics, method, outcome, error.code, started)
        return refusal(error)
    except Exception:
        log.exception("%s over HTTP failed", method)
        _record(metrics, method, outcome, Code.INTERNAL, started)
        return error_response(Code.INTERNAL, INTERNAL_MESSAGE)
    _record(metrics, method, outcome, Code.OK, started)
    return response


def _record(metrics: Metrics, method: str, outcome: Outcome, code: Code, started: float) -> None:
    seconds = time.perf_counter() - started
    metrics.request_finished(method, outcome.model, code.name, seconds, protocol=HTTP)
