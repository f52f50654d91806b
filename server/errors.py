"""Every error the server raises on purpose, in one tree, each knowing what it means.

Request errors carry a :class:`Code`, google.rpc's canonical numbering, which is neither
gRPC's nor HTTP's: the gRPC front (:mod:`vaeserve.server.rpc.status`) and any other front
map it once, so the core never imports a protocol. Anything else escaping a handler is a
bug: INTERNAL with :data:`INTERNAL_MESSAGE`, its traceback logged once. Two classes exist for
HTTP's sake, where the status is finer than the code (415 and 413, see
:mod:`vaeserve.server.http.status`); gRPC sees their codes. Start-up errors stop
``vaeserve serve`` before it listens, as one line on stderr and a non-zero exit.

    VaeServeError                       the base; never raised on its own
    ├── RequestError                    INTERNAL: a request failed; its client is told why
    │   ├── InvalidArgumentError        INVALID_ARGUMENT  shapes, sizes, NaN/Inf, counts, PNGs
    │   │   ├── MalformedRequestError   INVALID_ARGUMENT  bytes that are not the message
    │   │   └── UnsupportedMediaError   INVALID_ARGUMENT  a body in a form the front cannot read
    │   ├── NotFoundError               NOT_FOUND         unknown model or version
    │   ├── FailedPreconditionError     FAILED_PRECONDITION a version refused on load; an
    │   │                                                 admin call the mode does not allow
    │   ├── ResourceExhaustedError      RESOURCE_EXHAUSTED
    │   │   ├── QueueFullError          RESOURCE_EXHAUSTED the batch queue is full: retryable
    │   │   └── RequestTooLargeError    RESOURCE_EXHAUSTED a body over the receive limit
    │   ├── UnavailableError            UNAVAILABLE       draining, or the model is not ready
    │   ├── DeadlineExceededError       DEADLINE_EXCEEDED dropped: the deadline passed in queue
    │   ├── RequestCancelledError       CANCELLED         dropped: the client went away
    │   └── UnauthenticatedError        UNAUTHENTICATED   no bearer token, or the wrong one
    ├── ModelRefusedError               one model version cannot serve; the others do
    └── StartupError                    the server cannot start as configured
        ├── ConfigError                 settings that contradict each other or the host
        │   ├── SecurityConfigError     a TLS file or the token cannot be used
        │   └── ProviderUnavailableError an execution provider this onnxruntime lacks
        └── BindError                   a port in use, or an address that cannot be bound

A message quotes a client's own values through :func:`shown`, cut short: status details
travel in HTTP/2 trailers, which clients cap (grpc's hard limit is 16 KiB by default), and a
20 kB model name echoed back turned NOT_FOUND into the client's own RESOURCE_EXHAUSTED
"Stream removed".
"""

from __future__ import annotations

import enum
from typing import ClassVar

SHOWN_CHARS = 80
INTERNAL_MESSAGE = "internal server error; the server log has the details"
"""The one text a client gets for a bug, on every front: internals never leak."""


class Code(enum.IntEnum):
    """google.rpc.Code: the status vocabulary both gRPC and HTTP fronts translate from."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def shown(value: object) -> str:
    """A client's value for an error message: ASCII (no percent-encoding blow-up), short."""
    text = ascii(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


class VaeServeError(Exception):
    """Base of every error the server raises on purpose."""


class RequestError(VaeServeError):
    """A request failed for a reason its client is told, with the status ``code``."""

    code: ClassVar[Code] = Code.INTERNAL


class InvalidArgumentError(RequestError):
    code = Code.INVALID_ARGUMENT


class MalformedRequestError(InvalidArgumentError):
    """The request's bytes do not parse as the method's message (raised before any handler)."""


class UnsupportedMediaError(InvalidArgumentError):
    """A request body in a content type the front does not read (HTTP: 415)."""


class NotFoundError(RequestError):
    code = Code.NOT_FOUND


class FailedPreconditionError(RequestError):
    """The call is well formed but the server's state forbids it: loading a version whose
    files are refused, or loading and unloading when model control is not explicit."""

    code = Code.FAILED_PRECONDITION


class ResourceExhaustedError(RequestError):
    code = Code.RESOURCE_EXHAUSTED


class QueueFullError(ResourceExhaustedError):
    """Raised at once, before any waiting, so a client can back off or try another replica."""


class RequestTooLargeError(ResourceExhaustedError):
    """A request body over the receive limit, refused before it is parsed (HTTP: 413), as
    gRPC refuses a message over ``grpc.max_receive_message_length``."""


class UnavailableError(RequestError):
    code = Code.UNAVAILABLE


class DeadlineExceededError(RequestError):
    code = Code.DEADLINE_EXCEEDED


class RequestCancelledError(RequestError):
    """The client cancelled (not :class:`asyncio.CancelledError`, which cancels a task)."""

    code = Code.CANCELLED


class UnauthenticatedError(RequestError):
    code = Code.UNAUTHENTICATED


class ModelRefusedError(VaeServeError):
    """A model version cannot be served (its graphs break the contract, or onnxruntime
    cannot open them); it is marked failed with this reason and the others serve."""


class StartupError(VaeServeError):
    """``vaeserve serve`` cannot start as configured: one line on stderr, exit non-zero."""


class ConfigError(StartupError, ValueError):
    """Settings that cannot work together, or on this host."""


class SecurityConfigError(ConfigError):
    """A TLS file or the token cannot be used; the message names the file and the problem."""


class ProviderUnavailableError(ConfigError):
    """The execution provider asked for is not in this onnxruntime (CUDA without a GPU)."""


class BindError(StartupError, OSError):
    """A port that is taken, or an address or certificate grpc cannot listen with."""
