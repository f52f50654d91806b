"""A request's items on their way through a queue: what the batcher and ``Unbatched`` share.

The types every queue's ``submit`` speaks (:data:`Outputs`, :data:`RunBatch`,
:data:`WhyAbandoned`), the error an abandoned request fails with, and the batcher's
bookkeeping for one request: its items may be cut into slices that run in different batches,
finish in any order and are put back together by position here.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

import numpy as np

from vaeserve.server.errors import DeadlineExceededError, RequestCancelledError

Outputs = tuple[np.ndarray, ...]
RunBatch = Callable[[np.ndarray], Outputs]
# Asked before a request's items are computed: None while its client still waits for it,
# else why not ("cancelled" or "deadline_exceeded"), and its items are dropped.
WhyAbandoned = Callable[[], str | None]

_ABANDONED_ERRORS = {
    "cancelled": RequestCancelledError,
    "deadline_exceeded": DeadlineExceededError,
}


def never_abandoned() -> str | None:
    """The ``why_abandoned`` of a caller that always waits for its answer."""
    return None


def abandoned_error(reason: str) -> Exception:
    """The error a request dropped before compute for ``reason`` fails with."""
    return _ABANDONED_ERRORS[reason](f"request dropped before compute: {reason}")


class QueuedRequest:
    """A request's items, how many were taken into batches, and the parts computed so far."""

    __slots__ = ("computed", "enqueued", "future", "inputs", "parts", "taken", "why_abandoned")

    def __init__(
        self, inputs: np.ndarray, why_abandoned: WhyAbandoned, future: asyncio.Future[Outputs]
    ):
        self.inputs = inputs
        self.why_abandoned = why_abandoned
        self.future = future
        self.enqueued = time.perf_counter()
        self.taken = 0
        self.computed = 0
        # Outputs of items [start, start + n) by start: parts may finish out of order.
        self.parts: dict[int, Outputs] = {}

    @property
    def size(self) -> int:
        return int(self.inputs.shape[0])

    def deliver(self, start: int, part: Outputs) -> None:
        """Keep a computed part; once every item is computed, answer with them in order."""
        if self.future.done():
            return
        self.parts[start] = part
        self.computed += len(part[0])
        if self.computed < self.size:
            return
        if len(self.parts) == 1:
            self.future.set_result(part)
            return
        ordered = [self.parts[key] for key in sorted(self.parts)]
        self.future.set_result(tuple(np.concatenate(p) for p in zip(*ordered, strict=True)))

    def fail(self, error: Exception) -> None:
        """Answer with ``error`` unless the request was answered already."""
        if not self.future.done():
            self.future.set_exception(error)


# One slice of one request: (request, start, stop).
Slice = tuple[QueuedRequest, int, int]


def cut_slices(batch: list[Slice], sizes: list[int]) -> list[list[Slice]]:
    """``batch`` cut into consecutive parts of ``sizes`` items, slices split where needed."""
    parts: list[list[Slice]] = []
    pending = collections.deque(batch)
    for size in sizes:
        part: list[Slice] = []
        while size > 0:
            request, start, stop = pending.popleft()
            end = min(stop, start + size)
            part.append((request, start, end))
            size -= end - start
            if end < stop:
                pending.appendleft((request, end, stop))
        parts.append(part)
    return parts


def gather_inputs(batch: list[Slice]) -> np.ndarray:
    """The inputs of a batch's slices as one array (no copy for one whole request)."""
    if len(batch) == 1:
        request, start, stop = batch[0]
        return request.inputs if (start, stop) == (0, request.size) else request.inputs[start:stop]
    return np.concatenate([request.inputs[start:stop] for request, start, stop in batch])
