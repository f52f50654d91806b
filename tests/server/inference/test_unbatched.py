"""``Unbatched`` (the ``--no-batching`` mode): one call per request, the batcher's contract."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from vaeserve.server.errors import DeadlineExceededError, QueueFullError
from vaeserve.server.inference.unbatched import Unbatched
from vaeserve.server.metrics import Metrics


class Model:
    """Doubles its input and records the size of every call."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        self.sizes.append(len(batch))
        return (batch * 2,)


def items(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32).reshape(n, 1)


def test_unbatched_runs_each_request_as_its_own_call() -> None:
    model, metrics = Model(), Metrics(CollectorRegistry())

    async def main() -> list[tuple[np.ndarray, ...]]:
        with ThreadPoolExecutor(2) as executor:
            runner = Unbatched(model, executor, metrics.graph("m/1", "decoder"), max_queue_size=64)
            return await asyncio.gather(*(runner.submit(items(5, i)) for i in range(3)))

    outputs = asyncio.run(main())
    assert sorted(model.sizes) == [5, 5, 5]
    np.testing.assert_array_equal(outputs[2][0], items(5, 2) * 2)


def test_unbatched_refuses_a_request_larger_than_its_queue() -> None:
    model, metrics = Model(), Metrics(CollectorRegistry())

    async def main() -> None:
        with ThreadPoolExecutor(1) as executor:
            runner = Unbatched(model, executor, metrics.graph("m/1", "decoder"), max_queue_size=4)
            await runner.submit(items(5))

    with pytest.raises(QueueFullError):
        asyncio.run(main())
    assert model.sizes == []


def test_unbatched_drops_a_request_whose_deadline_passed_before_compute() -> None:
    model, metrics = Model(), Metrics(CollectorRegistry())

    async def main() -> None:
        with ThreadPoolExecutor(1) as executor:
            runner = Unbatched(model, executor, metrics.graph("m/1", "decoder"), max_queue_size=8)
            await runner.submit(items(1), lambda: "deadline_exceeded")

    with pytest.raises(DeadlineExceededError, match="dropped before compute"):
        asyncio.run(main())
    assert model.sizes == []
