"""One onnxruntime call per request: the ``--no-batching`` mode.

It has the dynamic batcher's ``submit`` contract (a bounded number of items in flight,
abandoned requests dropped before compute, the same metrics), so the benchmark can compare
batching against exactly this and the model table drives both the same way.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor

import numpy as np

from vaeserve.server.errors import QueueFullError
from vaeserve.server.inference.queued_request import (
    Outputs,
    RunBatch,
    WhyAbandoned,
    abandoned_error,
    never_abandoned,
)
from vaeserve.server.metrics import GraphMetrics


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

    async def close(self, why: str = "") -> None:
        """Nothing to stop: requests in flight finish on the executor."""

    async def submit(
        self, inputs: np.ndarray, why_abandoned: WhyAbandoned = never_abandoned
    ) -> Outputs:
        size = int(inputs.shape[0])
        if self._in_flight + size > self._max_queued:
            raise QueueFullError(
                f"{self._in_flight} items are in flight and the limit is {self._max_queued}: "
                "retry later or on another replica"
            )
        reason = why_abandoned()
        if reason is not None:
            self._metrics.dropped(reason, size)
            raise abandoned_error(reason)
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
