"""Exceptions the client raises: one base, one class per gRPC status a caller acts on.

::

    VaeServeError                 (any failed call; keeps .code and .details)
    ├── InvalidArgumentError      INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
    ├── NotFoundError             NOT_FOUND
    ├── ResourceExhaustedError    RESOURCE_EXHAUSTED (left after retries)
    ├── UnavailableError          UNAVAILABLE (left after retries)
    ├── DeadlineExceededError     DEADLINE_EXCEEDED
    ├── CancelledError            CANCELLED
    ├── UnauthenticatedError      UNAUTHENTICATED, PERMISSION_DENIED
    └── ServerError               INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, ...

The mapping lives in :func:`from_rpc_error`, used once by both clients.
"""

from __future__ import annotations

import grpc


class VaeServeError(Exception):
    """A call failed; ``code`` is the gRPC status and ``details`` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class InvalidArgumentError(VaeServeError):
    """The request was wrong (shape, size, count, NaN); retrying it will not help."""


class NotFoundError(VaeServeError):
    """The model or version is not on the server."""


class ResourceExhaustedError(VaeServeError):
    """The server's queue stayed full through every retry: slow down or add replicas."""


class UnavailableError(VaeServeError):
    """The server could not be reached, or was draining, through every retry."""


class DeadlineExceededError(VaeServeError):
    """The call's deadline passed before the answer came."""


class CancelledError(VaeServeError):
    """The call was cancelled."""


class UnauthenticatedError(VaeServeError):
    """The bearer token or client certificate was missing or refused."""


class ServerError(VaeServeError):
    """The server failed in a way that is not the caller's fault."""


_BY_CODE: dict[grpc.StatusCode, type[VaeServeError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: UnauthenticatedError,
}


def error_for(code: grpc.StatusCode, details: str) -> VaeServeError:
    return _BY_CODE.get(code, ServerError)(code, details)


def from_rpc_error(error: grpc.RpcError) -> VaeServeError:
    """Turn a failed call (sync ``grpc.Call`` or ``grpc.aio.AioRpcError``) into our type."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for(code or grpc.StatusCode.UNKNOWN, details or "")
