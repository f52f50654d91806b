"""The dynamic batcher: items of concurrent requests gathered into onnxruntime calls.

One :class:`Batcher` per model version and graph. ``await batcher.submit(inputs, wanted)``
queues a request's items and returns its outputs, in order. A loop task takes items off the
queue, counting items rather than requests, until ``max_batch_size`` is reached or, when
``max_queue_delay`` is positive, the oldest item has waited that long; a request larger
than a batch is split across several. With a delay of 0 a lone request starts at once, and
while a batch runs new items pile up, so batches grow with load by themselves.

Up to ``max_concurrent_batches`` batches run at once, one per inference thread, because
onnxruntime runs each call on one thread (intra-op threads fight the gRPC threads on a
small machine; concurrent batches do not). A second batch starts only when a full batch is
already waiting, so light load still forms big batches. When workers are idle and the only
batch is big (at least two parts of ``min_split_size`` items), it is cut into one part per
idle worker, so a lone large request uses every core. Parts of a request may finish in any
order; its outputs are put back together by position.

Before an item joins a batch, its request's ``wanted()`` is asked; a request that was
cancelled or whose deadline passed is dropped and counted, never computed. The queue is
bounded in items: past it ``submit`` raises :class:`QueueFullError` at once. An exception
in one batch fails that batch's requests only; the loop survives everything.

:class:`Unbatched` has the same ``submit`` and runs each request as its own call (the
``--no-batching`` mode and the baseline the benchmark compares against).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from vaeserve.server.errors import (
    CancelledError,
    DeadlineExceededError,
    QueueFullError,
    UnavailableError,
)
from vaeserve.server.metrics import GraphMetrics

log = logging.getLogger(__name__)

Outputs = tuple[np.ndarray, ...]
RunBatch = Callable[[np.ndarray], Outputs]
# Returns None while the request is wanted, else why not: "cancelled" or "deadline_exceeded".
Wanted = Callable[[], str | None]

_DROP_ERRORS = {"cancelled": CancelledError, "deadline_exceeded": DeadlineExceededError}
# Below this many items a part's fixed costs (a thread hand-off, a small onnxruntime call)
# outweigh what a second core saves.
MIN_SPLIT_SIZE = 32


def always_wanted() -> str | None:
    return None


class _Request:
    """A request's items, how many were taken into batches, and the parts computed so far."""

    __slots__ = ("computed", "enqueued", "future", "inputs", "parts", "taken", "wanted")

    def __init__(self, inputs: np.ndarray, wanted: Wanted, future: asyncio.Future[Outputs]):
        self.inputs = inputs
        self.wanted = wanted
        self.future = future
        self.enqueued = time.perf_counter()
        self.taken = 0
        self.computed = 0
        # Outputs of items [start, start + n) by start: parts may finish out of order.
        self.parts: dict[int, Outputs] = {}

    @property
    def size(self) -> int:
        return int(self.inputs.shape[0])


# One slice of one request: (request, start, stop).
Slice = tuple[_Request, int, int]


class Batcher:
    def __init__(
        self,
        run: RunBatch,
        executor: Executor,
        metrics: GraphMetrics,
        *,
        max_batch_size: int,
        max_queue_delay_s: float,
        max_queue_size: int,
        max_concurrent_batches: int = 1,
        min_split_size: int = MIN_SPLIT_SIZE,
    ) -> None:
        self._run = run
        self._executor = executor
        self._metrics = metrics
        self._max_batch = max_batch_size
        self._delay = max_queue_delay_s
        self._max_queued = max_queue_size
        self._max_running = max(1, max_concurrent_batches)
        self._min_split = max(1, min_split_size)
        self._queue: collections.deque[_Request] = collections.deque()
        self._queued_items = 0
        # Set when items arrive or a batch finishes: either may let a batch start.
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Batches in flight, kept so close() can fail their requests even when a task is
        # cancelled before its first step (its own handlers never run then).
        self._running: dict[asyncio.Task[None], list[Slice]] = {}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="batcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        running = dict(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for batch in running.values():
            for request, _, _ in batch:
                _fail(request, UnavailableError("the server is shutting down"))
        for request in self._queue:
            _fail(request, UnavailableError("the server is shutting down; retry elsewhere"))
        self._queue.clear()

    async def submit(self, inputs: np.ndarray, wanted: Wanted = always_wanted) -> Outputs:
        """Queue ``inputs`` [N, ...] and return the graph's outputs for them, in order."""
        size = int(inputs.shape[0])
        if self._queued_items + size > self._max_queued:
            raise QueueFullError(
                f"the queue holds {self._queued_items} items and takes at most "
                f"{self._max_queued}: retry later or on another replica"
            )
        request = _Request(inputs, wanted, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        self._add_queued(size)
        self._wake.set()
        return await request.future

    def _add_queued(self, count: int) -> None:
        self._queued_items += count
        self._metrics.queue_depth.set(self._queued_items)

    async def _loop(self) -> None:
        while True:
            while not self._may_start():
                self._wake.clear()
                await self._wake.wait()
            try:
                await self._wait_to_fill()
                self._launch()
            except Exception:  # the loop must outlive any bug in one batch
                log.exception("batch loop error; continuing")

    def _may_start(self) -> bool:
        """A batch may start on a free worker: any batch when none runs, else a full one."""
        if not self._queue or len(self._running) >= self._max_running:
            return False
        return not self._running or self._queued_items >= self._max_batch

    async def _wait_to_fill(self) -> None:
        """With a positive delay and nothing running, wait until a batch is full or the
        oldest item is due (while a batch runs, only full batches start anyway)."""
        if self._delay <= 0 or self._running:
            return
        due = self._queue[0].enqueued + self._delay
        while self._queued_items < self._max_batch:
            remaining = due - time.perf_counter()
            if remaining <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    def _launch(self) -> None:
        """Start batches while a worker is free and :meth:`_may_start` allows."""
        while self._may_start():
            batch = self._take()
            if not batch:
                continue
            for part in self._split(batch):
                task = asyncio.get_running_loop().create_task(self._execute(part))
                self._running[task] = part
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("batch failed after compute", exc_info=task.exception())

    def _split(self, batch: list[Slice]) -> list[list[Slice]]:
        """One part per idle worker when no full batch waits to take them, else the batch."""
        size = sum(stop - start for _, start, stop in batch)
        idle = self._max_running - len(self._running)
        ways = min(idle, size // self._min_split)
        if ways < 2 or self._queued_items >= self._max_batch:
            return [batch]
        sizes = [size // ways + (i < size % ways) for i in range(ways)]
        return _cut(batch, sizes)

    def _take(self) -> list[Slice]:
        """Slices (request, start, stop) for the next batch, dropping unwanted requests."""
        batch: list[Slice] = []
        room = self._max_batch
        now = time.perf_counter()
        while self._queue and room > 0:
            request = self._queue[0]
            if self._drop_if_unwanted(request):
                continue
            start = request.taken
            stop = min(request.size, start + room)
            if start == 0:
                self._metrics.queue_wait.observe(now - request.enqueued)
            batch.append((request, start, stop))
            request.taken = stop
            room -= stop - start
            if stop == request.size:
                self._queue.popleft()
        self._add_queued(-(self._max_batch - room))
        return batch

    def _drop_if_unwanted(self, request: _Request) -> bool:
        try:
            reason = request.wanted() or ("cancelled" if request.future.done() else None)
        except Exception:  # a context that cannot answer belongs to a finished RPC
            reason = "cancelled"
        if reason is None:
            return False
        remaining = request.size - request.taken
        self._queue.popleft()
        self._add_queued(-remaining)
        self._metrics.dropped(reason, remaining)
        _fail(request, _DROP_ERRORS[reason](f"request dropped before compute: {reason}"))
        return True

    async def _execute(self, batch: list[Slice]) -> None:
        inputs = _gather_inputs(batch)
        started = time.perf_counter()
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, inputs
            )
        except Exception as error:  # the edge logs it once, with its traceback
            for request, _, _ in batch:
                self._abandon(request, error)
            return
        except asyncio.CancelledError:  # close() while this batch ran: nobody will deliver it
            for request, _, _ in batch:
                self._abandon(request, UnavailableError("the server is shutting down"))
            raise
        self._metrics.inference.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(inputs.shape[0])
        self._metrics.items.inc(inputs.shape[0])
        offset = 0
        for request, start, stop in batch:
            count = stop - start
            _deliver(request, start, tuple(out[offset : offset + count] for out in outputs))
            offset += count

    def _abandon(self, request: _Request, error: Exception) -> None:
        """Fail a request and take its not-yet-batched items off the queue."""
        if request.taken < request.size and request in self._queue:
            self._queue.remove(request)
            self._add_queued(-(request.size - request.taken))
            request.taken = request.size
        _fail(request, error)


def _cut(batch: list[Slice], sizes: list[int]) -> list[list[Slice]]:
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


def _gather_inputs(batch: list[Slice]) -> np.ndarray:
    if len(batch) == 1:
        request, start, stop = batch[0]
        return request.inputs if (start, stop) == (0, request.size) else request.inputs[start:stop]
    return np.concatenate([request.inputs[start:stop] for request, start, stop in batch])


def _deliver(request: _Request, start: int, part: Outputs) -> None:
    """Keep a computed part; once every item is computed, answer with them in order."""
    if request.future.done():
        return
    request.parts[start] = part
    request.computed += len(part[0])
    if request.computed < request.size:
        return
    if len(request.parts) == 1:
        request.future.set_result(part)
        return
    ordered = [request.parts[key] for key in sorted(request.parts)]
    request.future.set_result(tuple(np.concatenate(p) for p in zip(*ordered, strict=True)))


def _fail(request: _Request, error: Exception) -> None:
    if not request.future.done():
        request.future.set_exception(error)


class Unbatched:
    """Same contract as :class:`Batcher`, one onnxruntime call per request."""

    def __init__(
        self, run: RunBatch, executor: Executor, metrics: GraphMetrics, *, max_queue_size: int
    ) -> None:
        self._run = run
        self._executor = executor
        self._metrics = metrics
        self._max_queued = max_queue_size
        self._in_flight = 0

    def start(self) -> None:
        """Nothing to start; present so both kinds are driven the same way."""

    async def close(self) -> None:
        """Nothing to stop: requests in flight finish on the executor."""

    async def submit(self, inputs: np.ndarray, wanted: Wanted = always_wanted) -> Outputs:
        size = int(inputs.shape[0])
        if self._in_flight + size > self._max_queued:
            raise QueueFullError(
                f"{self._in_flight} items are in flight and the limit is {self._max_queued}: "
                "retry later or on another replica"
            )
        reason = wanted()
        if reason is not None:
            self._metrics.dropped(reason, size)
            raise _DROP_ERRORS[reason](f"request dropped before compute: {reason}")
        self._in_flight += size
        self._metrics.queue_depth.set(self._in_flight)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._timed_run, inputs
            )
        finally:
            self._in_flight -= size
            self._metrics.queue_depth.set(self._in_flight)

    def _timed_run(self, inputs: np.ndarray) -> Outputs:
        started = time.perf_counter()
        outputs = self._run(inputs)
        self._metrics.inference.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(inputs.shape[0])
        self._metrics.items.inc(inputs.shape[0])
        return outputs
