"""Concurrent batches: one per inference worker, a second only when a full batch waits,
big lone batches cut across idle workers and put back together by position.

Scheduling is checked with a deterministic fake model whose calls are held on gates (no
timing); results are checked against real onnxruntime sessions of a tiny model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from tests import onnx_models
from vaeserve.server.errors import (
    DeadlineExceededError,
    QueueFullError,
    UnavailableError,
)
from vaeserve.server.inference.batcher import Batcher
from vaeserve.server.inference.pool import InferencePool
from vaeserve.server.inference.sessions import CPU, GraphSession
from vaeserve.server.metrics import Metrics

WAIT_S = 10.0


class GatedModel:
    """Doubles its input. Every call waits on the gate of its first item's value, if one is
    set up with :meth:`gate`; calls are recorded as they start."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []
        self.finished: list[float] = []
        self._gates: dict[float, threading.Event] = {}
        self._lock = threading.Lock()
        self._started = threading.Condition(self._lock)

    def gate(self, first_item: float) -> threading.Event:
        """Hold calls whose first item is ``first_item`` until the event returned is set."""
        self._gates[first_item] = threading.Event()
        return self._gates[first_item]

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        with self._started:
            self.batches.append(batch.copy())
            self._started.notify_all()
        gate = self._gates.get(float(batch[0, 0]))
        if gate is not None:
            gate.wait(WAIT_S)
        if (batch < 0).any():
            raise RuntimeError("negative input")
        with self._lock:
            self.finished.append(float(batch[0, 0]))
        return (batch * 2,)

    @property
    def sizes(self) -> list[int]:
        with self._lock:
            return [len(b) for b in self.batches]

    async def started(self, count: int) -> None:
        """Wait until ``count`` calls have started."""

        def wait() -> bool:
            with self._started:
                return self._started.wait_for(lambda: len(self.batches) >= count, WAIT_S)

        assert await asyncio.get_running_loop().run_in_executor(None, wait)

    def release_all(self) -> None:
        for gate in self._gates.values():
            gate.set()


def items(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32).reshape(n, 1)


async def settle() -> None:
    """Let the batch loop run everything it can without a worker finishing."""
    for _ in range(20):
        await asyncio.sleep(0)


def run_with(
    test: Callable[[Batcher, GatedModel], Awaitable[Any]], **limits: Any
) -> tuple[GatedModel, Metrics]:
    """Run ``test`` against a started two-worker batcher over a fresh model and registry."""
    model, metrics = GatedModel(), Metrics(CollectorRegistry())
    options = {
        "max_batch_size": 4,
        "max_queue_delay_s": 0.0,
        "max_queue_size": 64,
        "max_concurrent_batches": 2,
        "min_split_size": 2,
    } | limits

    async def main() -> None:
        with ThreadPoolExecutor(2, thread_name_prefix="test-inference") as executor:
            batcher = Batcher(model, executor, metrics.graph("m/1", "decoder"), **options)
            batcher.start()
            try:
                await test(batcher, model)
            finally:
                model.release_all()
                await batcher.close()

    asyncio.run(main())
    return model, metrics


def test_a_second_batch_starts_while_one_runs_when_a_full_batch_waits() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        held = model.gate(0.0)
        first = asyncio.create_task(batcher.submit(items(1)))
        await model.started(1)
        full = asyncio.create_task(batcher.submit(items(4, 10)))
        await model.started(2)  # while the first is still held
        assert not first.done()
        np.testing.assert_array_equal((await full)[0], items(4, 10) * 2)
        held.set()
        await first

    model, _ = run_with(test)
    assert model.sizes == [1, 4]
    assert model.finished == [10.0, 0.0]


def test_a_partial_batch_waits_for_the_running_one_so_batches_grow() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        held = model.gate(0.0)
        first = asyncio.create_task(batcher.submit(items(1)))
        await model.started(1)
        later = [asyncio.create_task(batcher.submit(items(1, 10 + i))) for i in range(3)]
        await settle()
        assert model.sizes == [1]
        held.set()
        await asyncio.gather(first, *later)

    model, _ = run_with(test)
    assert model.sizes == [1, 3]


def test_a_lone_small_request_runs_at_once_and_whole() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        (out,) = await batcher.submit(items(3))
        np.testing.assert_array_equal(out, items(3) * 2)

    model, _ = run_with(test, min_split_size=2, max_batch_size=4)
    # 3 items cannot make two parts of at least 2: not split.
    assert model.sizes == [3]


def test_a_lone_big_request_is_cut_across_idle_workers() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        (out,) = await batcher.submit(items(8))
        np.testing.assert_array_equal(out, items(8) * 2)

    model, _ = run_with(test, max_batch_size=8, min_split_size=2)
    assert sorted(model.sizes) == [4, 4]


def test_parts_finishing_out_of_order_are_reassembled_by_position() -> None:
    result: list[np.ndarray] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        model.gate(0.0)  # the first part is held...
        task = asyncio.create_task(batcher.submit(items(8)))
        await model.started(2)
        while not model.finished:  # ...until the second has finished
            await asyncio.sleep(0.001)
        model.release_all()
        result.append((await task)[0])

    model, _ = run_with(test, max_batch_size=8, min_split_size=2)
    assert model.finished == [4.0, 0.0]
    np.testing.assert_array_equal(result[0], items(8) * 2)


def test_a_full_batch_waiting_takes_the_idle_worker_instead_of_a_cut() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        await asyncio.gather(batcher.submit(items(4)), batcher.submit(items(4, 10)))

    model, _ = run_with(test, max_batch_size=4, min_split_size=2)
    assert model.sizes == [4, 4]


def test_an_exception_in_one_concurrent_batch_fails_only_its_requests() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        held = model.gate(0.0)
        good = asyncio.create_task(batcher.submit(items(1)))
        await model.started(1)
        bad = asyncio.create_task(batcher.submit(-items(4, 1)))
        await model.started(2)
        queued = asyncio.create_task(batcher.submit(items(2, 20)))
        await settle()
        held.set()
        outcomes.extend(await asyncio.gather(good, bad, queued, return_exceptions=True))

    run_with(test)
    assert [type(o).__name__ for o in outcomes] == ["tuple", "RuntimeError", "tuple"]
    np.testing.assert_array_equal(outcomes[0][0], items(1) * 2)
    np.testing.assert_array_equal(outcomes[2][0], items(2, 20) * 2)


def test_a_failing_part_fails_its_request_and_the_batcher_keeps_serving() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        mixed = np.concatenate([items(4), -items(4, 1)])  # the second part raises
        outcomes.extend(await asyncio.gather(batcher.submit(mixed), return_exceptions=True))
        outcomes.append(await batcher.submit(items(2, 30)))

    run_with(test, max_batch_size=8, min_split_size=2)
    assert type(outcomes[0]).__name__ == "RuntimeError"
    np.testing.assert_array_equal(outcomes[1][0], items(2, 30) * 2)


def test_requests_that_expire_or_cancel_while_a_batch_runs_are_dropped() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        held = model.gate(0.0)
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.started(1)
        gone = asyncio.create_task(batcher.submit(items(2, 20)))
        await settle()
        gone.cancel()
        # A full batch's worth: the loop takes from the queue while the first batch runs.
        expired = asyncio.create_task(batcher.submit(items(4, 10), lambda: "deadline_exceeded"))
        await settle()
        held.set()
        outcomes.extend(await asyncio.gather(running, expired, return_exceptions=True))
        await batcher.submit(items(1, 30))  # still serving

    model, metrics = run_with(test)
    assert isinstance(outcomes[1], DeadlineExceededError)
    assert model.sizes == [1, 1]
    labels = {"model": "m/1", "graph": "decoder"}
    dropped = "vaeserve_dropped_items_total"
    assert metrics.registry.get_sample_value(dropped, labels | {"reason": "cancelled"}) == 2
    expired_count = metrics.registry.get_sample_value(
        dropped, labels | {"reason": "deadline_exceeded"}
    )
    assert expired_count == 4


async def occupy_both_workers(
    batcher: Batcher, model: GatedModel
) -> tuple[list[threading.Event], list[asyncio.Task[Any]]]:
    """Two batches running on the two workers and held there: 1 item, then 4 items."""
    held = [model.gate(0.0), model.gate(10.0)]
    running = [asyncio.create_task(batcher.submit(items(1)))]
    await model.started(1)
    running.append(asyncio.create_task(batcher.submit(items(4, 10))))
    await model.started(2)
    return held, running


def test_a_full_batch_waits_in_the_executor_for_each_busy_worker() -> None:
    """So a worker that finishes starts the next batch without waiting for the event loop."""

    async def test(batcher: Batcher, model: GatedModel) -> None:
        held, running = await occupy_both_workers(batcher, model)
        ahead = [asyncio.create_task(batcher.submit(items(4, 20 + 10 * i))) for i in range(3)]
        await settle()
        assert batcher.queued_items == 4  # two handed on, one per busy worker; one queued
        for gate in held:
            gate.set()
        await asyncio.gather(*running, *ahead)

    model, _ = run_with(test)
    assert model.sizes == [1, 4, 4, 4, 4]


def test_the_queue_bound_holds_while_every_worker_is_busy() -> None:
    async def test(batcher: Batcher, model: GatedModel) -> None:
        held, running = await occupy_both_workers(batcher, model)
        ahead = []
        for i in range(2):  # each handed to a busy worker before the next fits the queue
            ahead.append(asyncio.create_task(batcher.submit(items(4, 20 + 10 * i))))
            await settle()
        queued = asyncio.create_task(batcher.submit(items(4, 40)))
        await settle()
        with pytest.raises(QueueFullError, match="takes at most 4"):
            await batcher.submit(items(1, 50))
        for gate in held:
            gate.set()
        await asyncio.gather(*running, *ahead, queued)

    model, _ = run_with(test, max_queue_size=4)
    assert model.sizes[:2] == [1, 4]
    assert sum(model.sizes) == 17  # everything but the refused request ran


def test_closing_fails_every_running_batch_as_unavailable() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        model.gate(0.0)
        model.gate(10.0)
        running = [asyncio.create_task(batcher.submit(items(1)))]
        await model.started(1)
        running.append(asyncio.create_task(batcher.submit(items(4, 10))))
        await model.started(2)
        await batcher.close()
        outcomes.extend(await asyncio.gather(*running, return_exceptions=True))

    run_with(test)
    assert all(isinstance(o, UnavailableError) for o in outcomes)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_closing_at_any_step_after_a_submit_fails_it_and_never_leaves_it_hanging(
    steps: int,
) -> None:
    """Whether close() comes before the loop took the request, between launching its batch
    task and that task's first step, or while it runs, the caller gets UNAVAILABLE."""
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: GatedModel) -> None:
        model.gate(0.0)
        task = asyncio.create_task(batcher.submit(items(1)))
        for _ in range(steps):
            await asyncio.sleep(0)
        await batcher.close()
        outcomes.extend(
            await asyncio.gather(asyncio.wait_for(task, WAIT_S), return_exceptions=True)
        )

    run_with(test)
    assert isinstance(outcomes[0], UnavailableError)


@pytest.fixture(scope="module")
def decoder(tmp_path_factory: pytest.TempPathFactory) -> GraphSession:
    folder = onnx_models.write_model(tmp_path_factory.mktemp("tiny"), onnx_models.RGB_V1)
    return GraphSession(
        Path(folder) / "decoder.onnx",
        input_name="z",
        output_names=("x",),
        providers=[CPU],
        intra_op_threads=1,
        max_batch_size=256,
    )


def test_onnxruntime_results_through_concurrent_batches_equal_unbatched(
    decoder: GraphSession,
) -> None:
    rng = np.random.default_rng(0)
    requests = [rng.standard_normal((n, 4), dtype=np.float32) for n in (256, 1, 300, 64, 7, 1024)]

    async def main() -> list[tuple[np.ndarray, ...]]:
        metrics = Metrics(CollectorRegistry())
        with ThreadPoolExecutor(2) as executor:
            batcher = Batcher(
                decoder.run,
                executor,
                metrics.graph("tiny-rgb/1", "decoder"),
                max_batch_size=256,
                max_queue_delay_s=0.0,
                max_queue_size=4096,
                max_concurrent_batches=2,
            )
            batcher.start()
            try:
                return await asyncio.gather(*(batcher.submit(r) for r in requests))
            finally:
                await batcher.close()

    for request, (out,) in zip(requests, asyncio.run(main()), strict=True):
        (expected,) = decoder.run(request)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_on_the_fair_share_pool_a_small_batch_passes_queued_big_ones() -> None:
    """Two graphs share one pool: a one-item batch of one graph, submitted after another
    graph's big batches filled the pool, is answered before the big ones that wait."""
    release = threading.Event()
    finished: list[str] = []

    def heavy(batch: np.ndarray) -> tuple[np.ndarray, ...]:
        assert release.wait(10)
        finished.append(f"heavy {len(batch)}")
        return (batch,)

    def light(batch: np.ndarray) -> tuple[np.ndarray, ...]:
        finished.append(f"light {len(batch)}")
        return (batch,)

    async def main() -> None:
        pool = InferencePool(1, small_below=32)
        metrics = Metrics(CollectorRegistry())
        common: dict[str, Any] = {
            "max_batch_size": 64,
            "max_queue_delay_s": 0.0,
            "max_queue_size": 1024,
            "max_concurrent_batches": 1,
        }
        big = Batcher(heavy, pool, metrics.graph("big/1", "decoder"), **common)
        small = Batcher(light, pool, metrics.graph("small/1", "decoder"), **common)
        big.start()
        small.start()
        try:
            heavy_call = asyncio.ensure_future(big.submit(np.zeros((192, 1), np.float32)))
            await asyncio.sleep(0.05)  # one big batch runs, one waits in the pool
            (out,) = await asyncio.wait_for(small.submit(np.ones((1, 1), np.float32)), 10)
            assert out.shape == (1, 1)
            release.set()
            await asyncio.wait_for(heavy_call, 10)
        finally:
            release.set()
            await big.close()
            await small.close()
            pool.shutdown()

    asyncio.run(main())
    assert finished[0] == "light 1"
