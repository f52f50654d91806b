"""The fair-share inference pool: small batches first, never more big ones than workers."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from vaeserve.server.inference.pool import InferencePool

SMALL_BELOW = 32
BIG = 256
WAIT_S = 10.0


@pytest.fixture
def one_worker() -> Iterator[InferencePool]:
    """One big-batch worker and the extra thread: two threads in all."""
    pool = InferencePool(1, small_below=SMALL_BELOW)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def blocker(started: threading.Event, release: threading.Event) -> Callable[[], None]:
    def block() -> None:
        started.set()
        assert release.wait(WAIT_S)

    return block


def test_the_smallest_waiting_batch_runs_first(one_worker: InferencePool) -> None:
    small_started, small_release = threading.Event(), threading.Event()
    big_started, big_release = threading.Event(), threading.Event()
    one_worker.submit_sized(1, blocker(small_started, small_release))
    one_worker.submit_sized(BIG, blocker(big_started, big_release))
    assert small_started.wait(WAIT_S) and big_started.wait(WAIT_S)  # both threads busy
    order: list[str] = []
    waiting = [
        one_worker.submit_sized(BIG, order.append, "big"),
        one_worker.submit_sized(4, order.append, "four"),
        one_worker.submit_sized(1, order.append, "one"),
    ]
    small_release.set()
    waiting[1].result(WAIT_S)
    big_release.set()
    waiting[0].result(WAIT_S)
    assert order == ["one", "four", "big"]


def test_a_small_batch_runs_while_every_worker_runs_a_big_one(one_worker: InferencePool) -> None:
    started, release = threading.Event(), threading.Event()
    one_worker.submit_sized(BIG, blocker(started, release))
    assert started.wait(WAIT_S)
    try:
        assert one_worker.submit_sized(1, lambda: "done").result(WAIT_S) == "done"
    finally:
        release.set()


def test_no_more_big_batches_run_at_once_than_workers() -> None:
    pool = InferencePool(2, small_below=SMALL_BELOW)
    lock = threading.Lock()
    running, most = [0], [0]

    def big_batch() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    try:
        futures = [pool.submit_sized(BIG, big_batch) for _ in range(8)]
        for future in futures:
            future.result(WAIT_S)
    finally:
        pool.shutdown()
    assert most[0] == 2


def test_work_without_a_size_counts_as_big(one_worker: InferencePool) -> None:
    started, release = threading.Event(), threading.Event()
    one_worker.submit(blocker(started, release))
    assert started.wait(WAIT_S)
    unsized = one_worker.submit(lambda: "ran")
    time.sleep(0.05)
    assert not unsized.done()  # the one big slot is taken
    release.set()
    assert unsized.result(WAIT_S) == "ran"


def test_an_error_in_a_batch_reaches_its_future_and_the_pool_runs_on(
    one_worker: InferencePool,
) -> None:
    def fail() -> None:
        raise RuntimeError("bad batch")

    with pytest.raises(RuntimeError, match="bad batch"):
        one_worker.submit_sized(1, fail).result(WAIT_S)
    assert one_worker.submit_sized(1, lambda: 7).result(WAIT_S) == 7


def test_shutdown_cancels_waiting_work_and_refuses_new() -> None:
    pool = InferencePool(1, small_below=SMALL_BELOW)
    started, release = threading.Event(), threading.Event()
    pool.submit_sized(BIG, blocker(started, release))
    assert started.wait(WAIT_S)
    waiting = pool.submit_sized(BIG, lambda: None)
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert waiting.cancelled()
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit_sized(1, lambda: None)
    pool.shutdown(wait=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_pool_threads_run_niced_and_the_caller_does_not() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pool = InferencePool(1, small_below=SMALL_BELOW, niceness=5)
    try:
        inside = pool.submit_sized(
            1, lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        ).result(WAIT_S)
    finally:
        pool.shutdown()
    assert inside == min(19, before + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
