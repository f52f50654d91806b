"""The dynamic batcher: items of concurrent requests gathered into onnxruntime calls.

One :class:`Batcher` per model version and graph. ``await batcher.submit(inputs, why_abandoned)``
queues a request's items and returns its outputs, in order. Whenever items arrive or a
batch finishes, a pump on the event loop takes items off the queue, counting items rather
than requests, until ``max_batch_size`` is reached or, when ``max_queue_delay`` is
positive, the oldest item has waited that long; a request larger than a batch is split
across several. There is no batch task: the pump and the inference threads' callbacks
cost the event loop one hand-off each way per batch, which is what one-item requests at
high concurrency are bound by. With a delay of 0 a lone request starts at once, and
while a batch runs new items pile up, so batches grow with load by themselves.

Up to ``max_concurrent_batches`` batches run at once, one per inference thread, because
onnxruntime runs each call on one thread (intra-op threads fight the gRPC threads on a
small machine; concurrent batches do not). A second batch starts only when a full batch is
already waiting, so light load still forms big batches; under load one more full batch per
worker waits in the executor, so no worker idles while the event loop is busy elsewhere.
When workers are idle and the only batch is big (at least two parts of ``min_split_size``
items), it is cut into one part per idle worker, so a lone large request uses every core.
Parts of a request may finish in any order; its outputs are put back together by position
(:mod:`~vaeserve.server.inference.queued_request`).

A batch that :class:`~vaeserve.server.inference.batch_cost.BatchCostEstimate` knows to be
cheaper than a thread hand-off runs on the event loop instead of a worker.

Under ``--fair-share`` the executor is the shared
:class:`~vaeserve.server.inference.pool.InferencePool`, told each batch's size so that a
small batch of one graph never waits behind another graph's big ones, and the inline rule
reads a batch's cost on a CPU-time clock (``cost_clock``), which a wait for a core does not
inflate.

Before an item joins a batch, its request's ``why_abandoned()`` is asked; a request that was
cancelled or whose deadline passed is dropped and counted, never computed. The queue is
bounded in items: past it ``submit`` raises :class:`QueueFullError` at once. An exception
in one batch fails that batch's requests only; the loop survives everything.

:class:`~vaeserve.server.inference.unbatched.Unbatched` has the same ``submit`` and runs
each request as its own call (the ``--no-batching`` mode).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from vaeserve.server.errors import QueueFullError, UnavailableError
from vaeserve.server.inference.batch_cost import BatchCostEstimate
from vaeserve.server.inference.pool import InferencePool
from vaeserve.server.inference.queued_request import (
    Outputs,
    QueuedRequest,
    RunBatch,
    Slice,
    WhyAbandoned,
    abandoned_error,
    cut_slices,
    gather_inputs,
    never_abandoned,
)
from vaeserve.server.metrics import GraphMetrics

log = logging.getLogger(__name__)

# Below this many items a part's fixed costs (a thread hand-off, a small onnxruntime call)
# outweigh what a second core saves.
MIN_SPLIT_SIZE = 32
SHUTTING_DOWN = "the server is shutting down"


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
        inline_below_s: float = 0.0,
        cost_clock: Callable[[], float] | None = None,
    ) -> None:
        """``cost_clock``, when given, is what a batch's cost is read from for the inline rule
        (``time.thread_time``: the CPU the calling thread spent); else the wall time."""
        self._run = run
        self._executor = executor
        self._metrics = metrics
        self._max_batch = max_batch_size
        self._delay = max_queue_delay_s
        self._max_queued = max_queue_size
        self._workers = max(1, max_concurrent_batches)
        # Full batches may also wait in the executor's queue, one per worker: a worker that
        # finishes takes the next at once instead of idling until the event loop gets round
        # to handing it one (at 64 clients the loop is busy reading requests; MLP Encode
        # x256 ran 10-15% slower batched than unbatched before this).
        self._max_in_flight = 2 * self._workers
        self._min_split = max(1, min_split_size)
        self._cost_clock = cost_clock
        # What decides whether a batch is cheap enough to run on the event loop.
        self._costs = BatchCostEstimate(inline_below_s)
        self._queue: collections.deque[QueuedRequest] = collections.deque()
        self._queued_items = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        # At most one pump waits in the event loop's ready queue, and one timer for a
        # positive delay; both only ever call _pump, which decides from the state.
        self._pump_pending = False
        self._timer: asyncio.TimerHandle | None = None
        # Batches in flight by number, kept so close() can fail their requests; a batch a
        # worker finishes after close() is no longer here and is dropped.
        self._running: dict[int, list[Slice]] = {}
        self._batch_numbers = itertools.count()
        self._closed = False
        self._closed_because = SHUTTING_DOWN

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def close(self, why: str = SHUTTING_DOWN) -> None:
        """Refuse new items and fail the queued and running ones with UNAVAILABLE, saying
        ``why`` (an unload drains the version's requests before it closes its batchers)."""
        self._closed = True
        self._closed_because = why
        if self._timer is not None:
            self._timer.cancel()
        running, self._running = self._running, {}
        for batch in running.values():
            for request, _, _ in batch:
                request.fail(UnavailableError(why))
        for request in self._queue:
            request.fail(UnavailableError(f"{why}; retry elsewhere"))
        self._queue.clear()
        self._add_queued(-self._queued_items)

    async def submit(
        self, inputs: np.ndarray, why_abandoned: WhyAbandoned = never_abandoned
    ) -> Outputs:
        """Queue ``inputs`` [N, ...] and return the graph's outputs for them, in order."""
        if self._closed:
            raise UnavailableError(f"{self._closed_because}; retry elsewhere")
        size = int(inputs.shape[0])
        if self._queued_items + size > self._max_queued:
            raise QueueFullError(
                f"the queue holds {self._queued_items} items and takes at most "
                f"{self._max_queued}: retry later or on another replica"
            )
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        loop = self._loop
        request = QueuedRequest(inputs, why_abandoned, loop.create_future())
        self._queue.append(request)
        self._add_queued(size)
        if not self._pump_pending:
            # Not at once: requests that became ready in this turn of the event loop join
            # first, so a busy loop hands the workers bigger batches for the same cost.
            self._pump_pending = True
            loop.call_soon(self._pump)
        return await request.future

    @property
    def queued_items(self) -> int:
        """Items waiting for a batch (not those handed to a worker)."""
        return self._queued_items

    def _add_queued(self, count: int) -> None:
        self._queued_items += count
        self._metrics.queue_depth.set(self._queued_items)

    def _pump(self) -> None:
        """Start batches while a worker is free and :meth:`_may_start` allows.

        Runs on the event loop when items arrive, when a batch finishes and when a delay
        runs out; it never waits, so nothing but a free worker or a due item holds a batch.
        """
        self._pump_pending = False
        try:
            while self._may_start() and self._due():
                batch = self._take()
                if batch:
                    for part in self._split(batch):
                        self._start(part)
        except Exception:  # the batcher must outlive any bug in one batch
            log.exception("batch loop error; continuing")

    def _may_start(self) -> bool:
        """Any batch may start when none is in flight; otherwise only a full one, up to one
        running and one waiting per worker."""
        if self._closed or not self._queue:
            return False
        if not self._running:
            return True
        return self._queued_items >= self._max_batch and len(self._running) < self._max_in_flight

    def _due(self) -> bool:
        """With a positive delay and nothing running, a partial batch waits until its oldest
        item is due (while a batch runs, only full batches start anyway)."""
        if self._delay <= 0 or self._running or self._queued_items >= self._max_batch:
            return True
        remaining = self._queue[0].enqueued + self._delay - time.perf_counter()
        if remaining <= 0:
            return True
        if self._timer is None:
            assert self._loop is not None
            self._timer = self._loop.call_later(remaining, self._on_timer)
        return False

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    def _start(self, part: list[Slice]) -> None:
        inputs = gather_inputs(part)
        size = int(inputs.shape[0])
        if self._costs.runs_inline(size):
            # Cheaper than the hand-off to a worker and back (two thread wake-ups, which
            # on a small VM cost more than a small MLP call): run it here and now.
            outputs, error, cost = self._compute(inputs)
            self._costs.record(size, cost)
            self._settle(part, outputs, error)
            return
        number = next(self._batch_numbers)
        self._running[number] = part
        try:
            if isinstance(self._executor, InferencePool):
                self._executor.submit_sized(size, self._work, number, inputs)
            else:
                self._executor.submit(self._work, number, inputs)
        except Exception as error:  # e.g. the executor was shut down under us
            del self._running[number]
            for request, _, _ in part:
                self._abandon(request, UnavailableError(f"cannot run the batch: {error}"))

    def _compute(self, inputs: np.ndarray) -> tuple[Outputs | None, Exception | None, float]:
        """Run one batch (on any thread): its outputs or its error, and its cost in seconds.

        The cost is the wall time, or with a cost clock the time on that clock: a worker that
        waited for a core (preempted by the event loop, or by a neighbour's big batch) took
        longer than the batch costs, and a class judged by such a time would never run inline
        again -- its batches would queue behind big ones on the workers, which makes them
        bigger, which keeps them off the loop (issue 13's collapse to a few calls/s).
        """
        started = time.perf_counter()
        clock_started = self._cost_clock() if self._cost_clock is not None else 0.0
        try:
            outputs = self._run(inputs)
        except Exception as error:  # the edge logs it once, with its traceback
            return None, error, 0.0
        seconds = time.perf_counter() - started
        cost = seconds if self._cost_clock is None else self._cost_clock() - clock_started
        size = int(inputs.shape[0])
        self._metrics.inference.observe(seconds)
        self._metrics.batch_size.observe(size)
        self._metrics.items.inc(size)
        # A clock too coarse to see the batch reads 0, which the estimate would skip.
        return outputs, None, max(cost, 1e-9)

    def _work(self, number: int, inputs: np.ndarray) -> None:
        """On an inference thread: run one batch and hand the outcome to the event loop."""
        outputs, error, cost = self._compute(inputs)
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is left to answer
            self._loop.call_soon_threadsafe(
                self._finished, number, int(inputs.shape[0]), outputs, error, cost
            )

    def _finished(
        self,
        number: int,
        size: int,
        outputs: Outputs | None,
        error: Exception | None,
        cost: float,
    ) -> None:
        self._costs.record(size, cost)
        batch = self._running.pop(number, None)
        if batch is not None:  # None: close() has already failed its requests
            self._settle(batch, outputs, error)
        self._pump()

    def _settle(self, batch: list[Slice], outputs: Outputs | None, error: Exception | None) -> None:
        """Answer a computed batch's requests with their slices, or fail them all."""
        if outputs is None:
            for request, _, _ in batch:
                self._abandon(request, error or RuntimeError("the batch gave no outputs"))
            return
        offset = 0
        for request, start, stop in batch:
            count = stop - start
            request.deliver(start, tuple(out[offset : offset + count] for out in outputs))
            offset += count

    def _split(self, batch: list[Slice]) -> list[list[Slice]]:
        """One part per idle worker when no full batch waits to take them, else the batch."""
        size = sum(stop - start for _, start, stop in batch)
        idle = self._workers - len(self._running)
        ways = min(idle, size // self._min_split)
        if ways < 2 or self._queued_items >= self._max_batch:
            return [batch]
        sizes = [size // ways + (i < size % ways) for i in range(ways)]
        return cut_slices(batch, sizes)

    def _take(self) -> list[Slice]:
        """Slices (request, start, stop) for the next batch, dropping unwanted requests."""
        batch: list[Slice] = []
        room = self._max_batch
        now = time.perf_counter()
        while self._queue and room > 0:
            request = self._queue[0]
            if self._drop_if_abandoned(request):
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

    def _drop_if_abandoned(self, request: QueuedRequest) -> bool:
        try:
            reason = request.why_abandoned() or ("cancelled" if request.future.done() else None)
        except Exception:  # a context that cannot answer belongs to a finished RPC
            reason = "cancelled"
        if reason is None:
            return False
        remaining = request.size - request.taken
        self._queue.popleft()
        self._add_queued(-remaining)
        self._metrics.dropped(reason, remaining)
        request.fail(abandoned_error(reason))
        return True

    def _abandon(self, request: QueuedRequest, error: Exception) -> None:
        """Fail a request and take its not-yet-batched items off the queue."""
        if request.taken < request.size and request in self._queue:
            self._queue.remove(request)
            self._add_queued(-(request.size - request.taken))
            request.taken = request.size
        request.fail(error)
