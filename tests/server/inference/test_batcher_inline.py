"""Batches cheaper than a thread hand-off run on the event loop; the rest on a worker.

The rule is keyed on what a batch of the same size class took before, so the first batch
of every size class runs on a worker (and is timed there). Thresholds here are chosen so
that no timing decides the outcome: 1 s (everything measured is cheap), 1 ns (nothing is).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from vaeserve.server.inference.batcher import Batcher
from vaeserve.server.metrics import Metrics
from vaeserve.server.settings import Settings

EVERYTHING_IS_CHEAP_S = 1.0
NOTHING_IS_CHEAP_S = 1e-9
SLOW_S = 0.05
BETWEEN_S = 0.01  # far above a doubling of a few numbers, far below SLOW_S


class ThreadRecordingModel:
    """Doubles its input and records which thread ran each call; fails on negative input;
    takes ``SLOW_S`` over an input of 99."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        self.threads.append(threading.get_ident())
        if (batch < 0).any():
            raise RuntimeError("negative input")
        if (batch == 99).any():
            time.sleep(SLOW_S)
        return (batch * 2,)


def items(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32).reshape(n, 1)


def run_with(
    test: Callable[[Batcher, ThreadRecordingModel, int], Awaitable[Any]],
    inline_below_s: float,
    cost_clock: Callable[[], float] | None = None,
) -> Metrics:
    """Run ``test`` with a started batcher; it gets the event loop's thread id."""
    model, metrics = ThreadRecordingModel(), Metrics(CollectorRegistry())

    async def main() -> None:
        with ThreadPoolExecutor(2, thread_name_prefix="test-inference") as executor:
            batcher = Batcher(
                model,
                executor,
                metrics.graph("m/1", "decoder"),
                max_batch_size=16,
                max_queue_delay_s=0.0,
                max_queue_size=64,
                max_concurrent_batches=2,
                inline_below_s=inline_below_s,
                cost_clock=cost_clock,
            )
            batcher.start()
            try:
                await test(batcher, model, threading.get_ident())
            finally:
                await batcher.close()

    asyncio.run(main())
    return metrics


def test_a_size_class_once_measured_cheap_runs_on_the_event_loop_thread() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        for start in range(3):
            (out,) = await batcher.submit(items(2, start))
            np.testing.assert_array_equal(out, items(2, start) * 2)
        assert model.threads[0] != loop_thread  # first of its class: timed on a worker
        assert model.threads[1:] == [loop_thread, loop_thread]

    run_with(test, EVERYTHING_IS_CHEAP_S)


def test_a_batch_slower_than_the_bound_always_runs_on_a_worker() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        for start in range(3):
            await batcher.submit(items(2, start))
        assert loop_thread not in model.threads

    run_with(test, NOTHING_IS_CHEAP_S)


def test_each_size_class_is_judged_by_its_own_past() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        await batcher.submit(items(1))
        await batcher.submit(items(1))
        await batcher.submit(items(8))  # 8 items: a class never run before
        assert model.threads[1] == loop_thread
        assert model.threads[2] != loop_thread

    run_with(test, EVERYTHING_IS_CHEAP_S)


def test_one_slow_batch_does_not_move_its_size_class_off_the_event_loop() -> None:
    """The estimate is the fastest recent timing: a hiccup (a preempted core) is forgotten."""

    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        await batcher.submit(items(1))  # timed on a worker: fast
        await batcher.submit(items(1, 99))  # inline, and slow this once
        await batcher.submit(items(1, 5))
        assert model.threads[1:] == [loop_thread, loop_thread]

    run_with(test, BETWEEN_S)


def test_inline_batches_are_counted_like_any_other() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        for start in range(4):
            await batcher.submit(items(3, start))

    metrics = run_with(test, EVERYTHING_IS_CHEAP_S)
    labels = {"model": "m/1", "graph": "decoder"}
    assert metrics.registry.get_sample_value("vaeserve_items_processed_total", labels) == 12
    assert metrics.registry.get_sample_value("vaeserve_batch_size_items_count", labels) == 4


def test_a_failing_inline_batch_fails_its_request_and_the_batcher_keeps_serving() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        await batcher.submit(items(1))
        with pytest.raises(RuntimeError, match="negative input"):
            await batcher.submit(-items(1, 1))
        assert model.threads[-1] == loop_thread
        (out,) = await batcher.submit(items(1, 5))
        np.testing.assert_array_equal(out, items(1, 5) * 2)

    run_with(test, EVERYTHING_IS_CHEAP_S)


def test_a_zero_bound_never_runs_a_batch_inline() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        for start in range(3):
            await batcher.submit(items(1, start))
        assert loop_thread not in model.threads

    run_with(test, 0.0)


def test_the_server_runs_batches_under_200_microseconds_inline_by_default() -> None:
    assert Settings().inline_below_us == 200.0


def test_a_negative_inline_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="inline_below_us must not be negative"):
        Settings(inline_below_us=-1.0)


def test_with_a_cpu_clock_a_batch_that_waited_on_its_worker_still_runs_inline_next() -> None:
    """Sleeping (waiting for a core, in life) takes wall time and no CPU time."""

    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        await batcher.submit(items(1, 99))  # first of its class: on a worker, and slow
        await batcher.submit(items(1, 5))
        assert model.threads[0] != loop_thread
        assert model.threads[1] == loop_thread

    run_with(test, BETWEEN_S, cost_clock=time.thread_time)


def test_with_the_wall_clock_a_batch_that_waited_on_its_worker_stays_there() -> None:
    async def test(batcher: Batcher, model: ThreadRecordingModel, loop_thread: int) -> None:
        await batcher.submit(items(1, 99))
        await batcher.submit(items(1, 5))
        assert loop_thread not in model.threads

    run_with(test, BETWEEN_S)
