"""The dynamic batcher on its own: no gRPC, a real thread pool, a plain numpy "model"."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from vaeserve.server.errors import DeadlineExceededError, QueueFullError
from vaeserve.server.inference.batcher import Batcher
from vaeserve.server.metrics import Metrics


class Model:
    """Doubles its input; records each batch; can be held busy until released."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        self.batches.append(batch.copy())
        self.started.set()
        self.gate.wait(10)
        if (batch < 0).any():
            raise RuntimeError("negative input")
        return (batch * 2,)

    @property
    def sizes(self) -> list[int]:
        return [len(b) for b in self.batches]

    async def hold(self) -> None:
        """Block the executor with a batch of its own, so later items pile up."""
        self.gate.clear()
        self.started.clear()
        await asyncio.get_running_loop().run_in_executor(None, self.started.wait, 10)


def items(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32).reshape(n, 1)


def run_with(
    test: Callable[[Batcher, Model, Metrics], Awaitable[Any]], **limits: Any
) -> tuple[Model, Metrics]:
    """Run ``test`` with a started batcher over a fresh model, registry and thread pool."""
    model, metrics = Model(), Metrics(CollectorRegistry())
    options = {"max_batch_size": 4, "max_queue_delay_s": 0.0, "max_queue_size": 64} | limits

    async def main() -> None:
        with ThreadPoolExecutor(1, thread_name_prefix="test-inference") as executor:
            batcher = Batcher(model, executor, metrics.graph("m/1", "decoder"), **options)
            batcher.start()
            try:
                await test(batcher, model, metrics)
            finally:
                model.gate.set()
                await batcher.close()

    asyncio.run(main())
    return model, metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, {"model": "m/1", "graph": "decoder", **labels})
    return 0.0 if value is None else value


def test_a_lone_request_runs_at_once_in_a_batch_of_its_own() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        (out,) = await batcher.submit(items(3))
        np.testing.assert_array_equal(out, items(3) * 2)

    model, _ = run_with(test, max_queue_delay_s=0.0)
    assert model.sizes == [3]


def test_items_arriving_while_the_executor_is_busy_form_one_batch() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        first = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        later = [asyncio.create_task(batcher.submit(items(1, 10 + i))) for i in range(3)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(first, *later)

    model, _ = run_with(test)
    assert model.sizes == [1, 3]


def test_a_request_bigger_than_a_batch_is_split_and_reassembled_in_order() -> None:
    results = []

    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        results.append((await batcher.submit(items(10)))[0])

    model, _ = run_with(test, max_batch_size=4)
    assert model.sizes == [4, 4, 2]
    np.testing.assert_array_equal(results[0], items(10) * 2)


def test_batches_are_filled_by_items_across_requests() -> None:
    outputs = []

    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        first = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        tasks = [asyncio.create_task(batcher.submit(items(3, 100 * i))) for i in range(3)]
        await asyncio.sleep(0.01)
        model.gate.set()
        await first
        outputs.extend([(await t)[0] for t in tasks])

    model, _ = run_with(test, max_batch_size=4)
    assert model.sizes == [1, 4, 4, 1]
    for i, out in enumerate(outputs):
        np.testing.assert_array_equal(out, items(3, 100 * i) * 2)


def test_a_full_queue_refuses_at_once() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        queued = asyncio.create_task(batcher.submit(items(4)))
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError, match="takes at most 4"):
            await batcher.submit(items(1))
        model.gate.set()
        await asyncio.gather(running, queued)

    run_with(test, max_queue_size=4)


def test_an_unwanted_request_is_dropped_before_compute_and_counted() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        late = asyncio.create_task(batcher.submit(items(3, 50), lambda: "deadline_exceeded"))
        await asyncio.sleep(0.01)
        model.gate.set()
        await running
        with pytest.raises(DeadlineExceededError):
            await late

    model, metrics = run_with(test)
    assert model.sizes == [1]
    assert sample(metrics, "vaeserve_dropped_items_total", reason="deadline_exceeded") == 3


def test_a_cancelled_request_is_dropped_before_compute() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        gone = asyncio.create_task(batcher.submit(items(2, 50)))
        await asyncio.sleep(0.01)
        gone.cancel()
        model.gate.set()
        await running
        await asyncio.sleep(0.01)

    model, metrics = run_with(test)
    assert model.sizes == [1]
    assert sample(metrics, "vaeserve_dropped_items_total", reason="cancelled") == 2


def test_a_failing_batch_fails_only_its_own_requests() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        bad = [asyncio.create_task(batcher.submit(x)) for x in (items(2), -items(2, 1))]
        await asyncio.sleep(0.01)
        good = asyncio.create_task(batcher.submit(items(3, 7)))
        await asyncio.sleep(0.01)
        model.gate.set()
        outcomes.extend(await asyncio.gather(running, *bad, good, return_exceptions=True))

    model, _ = run_with(test, max_batch_size=4)
    assert model.sizes == [1, 4, 3]
    assert [type(o).__name__ for o in outcomes] == [
        "tuple",
        "RuntimeError",
        "RuntimeError",
        "tuple",
    ]
    np.testing.assert_array_equal(outcomes[3][0], items(3, 7) * 2)


def test_a_positive_delay_gathers_requests_that_arrive_within_it() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        tasks = []
        for i in range(3):
            tasks.append(asyncio.create_task(batcher.submit(items(1, i))))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)

    model, _ = run_with(test, max_queue_delay_s=0.5, max_batch_size=3)
    assert model.sizes == [3]


def test_metrics_count_items_and_batch_sizes() -> None:
    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        await batcher.submit(items(6))

    _, metrics = run_with(test, max_batch_size=4)
    assert sample(metrics, "vaeserve_items_processed_total") == 6
    assert sample(metrics, "vaeserve_batch_size_items_count") == 2
    assert sample(metrics, "vaeserve_batch_size_items_sum") == 6
    assert sample(metrics, "vaeserve_queue_depth_items") == 0


def test_closing_fails_running_and_queued_requests_as_unavailable() -> None:
    outcomes: list[Any] = []

    async def test(batcher: Batcher, model: Model, metrics: Metrics) -> None:
        running = asyncio.create_task(batcher.submit(items(1)))
        await model.hold()
        queued = asyncio.create_task(batcher.submit(items(2)))
        await asyncio.sleep(0.01)
        await batcher.close()
        outcomes.extend(await asyncio.gather(running, queued, return_exceptions=True))

    run_with(test)
    assert [type(o).__name__ for o in outcomes] == ["UnavailableError", "UnavailableError"]
