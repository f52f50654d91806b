"""The inference pool under ``--fair-share``: small batches never queue behind big ones.

Every model graph's batcher hands its batches to one shared pool. A plain thread pool runs
them first come, first served, so a one-item batch of a cheap model waited behind every
256-item batch a neighbour had queued -- and its batcher started nothing else meanwhile.
Measured on 2 cores (issue 13), one-item Decodes beside two clients streaming 1,024-item
conv Decodes fell from about 1,000 calls/s to a few dozen whenever that happened.

This pool keeps one rule for big and one for small work:

- the waiting batch with the fewest items runs first (cheapest first);
- at most ``workers`` big batches (``small_below`` items or more, and any work submitted
  without a size) run at once, one per core as before, and the pool has one thread more,
  so a small batch finds a thread at once even while every core runs a big one.

Big batches still use every core when nothing small waits: the rule is work-conserving.
Its threads run niced (see :func:`~vaeserve.server.inference.sessions.lower_thread_priority`).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from vaeserve.server.inference.sessions import lower_thread_priority

P = ParamSpec("P")
T = TypeVar("T")
# A job: (items, order of submission, future, call).
_Job = tuple[int, int, "Future[Any]", Callable[[], Any]]


class InferencePool(Executor):
    """``workers`` threads for big batches and one more that only small ones may take."""

    def __init__(
        self,
        workers: int,
        *,
        small_below: int,
        niceness: int = 0,
        thread_name_prefix: str = "vaeserve-inference",
    ) -> None:
        self._big_limit = max(1, workers)
        self._small_below = small_below
        self._niceness = niceness
        self._jobs: list[_Job] = []
        self._order = itertools.count()
        self._big_running = 0
        self._shutdown = False
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(self._big_limit + 1)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Work of unknown size (model loading, PNG encoding): ordered and limited as big."""
        return self.submit_sized(self._small_below, fn, *args, **kwargs)

    def submit_sized(
        self, items: int, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """Queue a batch of ``items`` items; it runs before every waiting batch of more."""
        future: Future[T] = Future()
        with self._changed:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            heapq.heappush(
                self._jobs, (items, next(self._order), future, lambda: fn(*args, **kwargs))
            )
            self._changed.notify_all()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._changed:
            self._shutdown = True
            if cancel_futures:
                for _, _, future, _ in self._jobs:
                    future.cancel()
                self._jobs.clear()
            self._changed.notify_all()
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _is_big(self, items: int) -> bool:
        return items >= self._small_below

    def _next(self) -> _Job | None:
        """The job to run next, waiting until there is one; None once shut down and empty."""
        with self._changed:
            while True:
                if self._jobs:
                    items = self._jobs[0][0]
                    if not self._is_big(items) or self._big_running < self._big_limit:
                        if self._is_big(items):
                            self._big_running += 1
                        return heapq.heappop(self._jobs)
                elif self._shutdown:
                    return None
                self._changed.wait()

    def _serve(self) -> None:
        lower_thread_priority(self._niceness)
        while (job := self._next()) is not None:
            items, _, future, call = job
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(call())
                    except BaseException as error:  # handed to whoever awaits the future
                        future.set_exception(error)
            finally:
                if self._is_big(items):
                    with self._changed:
                        self._big_running -= 1
                        self._changed.notify_all()
