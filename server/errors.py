"""Errors a request can meet, each carrying the gRPC status code it maps to.

The core raises these; :func:`vaeserve.server.edge.rpc` turns them into a status once, at
the edge. Anything else escaping a handler is a bug: INTERNAL with a fixed text, its
traceback logged once.

    VaeServeError                   INTERNAL (the base; never raised on its own)
    ├── InvalidArgumentError        INVALID_ARGUMENT  shapes, sizes, NaN/Inf, counts, PNGs
    ├── NotFoundError               NOT_FOUND         unknown model or version
    ├── ResourceExhaustedError      RESOURCE_EXHAUSTED (the base of the one below)
    │   └── QueueFullError          RESOURCE_EXHAUSTED the batch queue is full: retryable
    ├── UnavailableError            UNAVAILABLE       draining, or the model is not ready
    ├── DeadlineExceededError       DEADLINE_EXCEEDED dropped: the deadline passed in queue
    └── CancelledError              CANCELLED         dropped: the client went away

A message quotes a client's own values through :func:`shown`, cut short: status details
travel in HTTP/2 trailers, which clients cap (grpc's hard limit is 16 KiB by default), and a
20 kB model name echoed back turned NOT_FOUND into the client's own RESOURCE_EXHAUSTED
"Stream removed".
"""

from __future__ import annotations

from typing import ClassVar

import grpc

SHOWN_CHARS = 80


def shown(value: object) -> str:
    """A client's value for an error message: ASCII (no percent-encoding blow-up), short."""
    text = ascii(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


class VaeServeError(Exception):
    """Base of every error the service reports to a client."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL


class InvalidArgumentError(VaeServeError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(VaeServeError):
    code = grpc.StatusCode.NOT_FOUND


class ResourceExhaustedError(VaeServeError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class QueueFullError(ResourceExhaustedError):
    """Raised at once, before any waiting, so a client can back off or try another replica."""


class UnavailableError(VaeServeError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(VaeServeError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class CancelledError(VaeServeError):
    code = grpc.StatusCode.CANCELLED
