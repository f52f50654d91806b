"""What a batch costs, and so whether the batcher runs it inline on the event loop.

Handing a batch to an inference thread and its outputs back costs two thread wake-ups,
which on a small VM is more than a small MLP call. So the batcher runs a batch on the event
loop itself when a batch of its size is known to be cheaper than ``inline_below_s``.

Sizes are grouped in classes by their bit length (1, 2-3, 4-7, ...): batches of one class
cost about the same. A batch is never cheaper than its compute, only slower (a cold worker
thread, a preempted core, a wait for the GIL), so a class's estimate is the fastest of its
last ``window`` timings, and a class never timed is not cheap: its first batch runs on a
worker and is timed there.

A worker's timing also holds its wait for the GIL, so a class that is cheap on the event loop
can look dear on a worker and would then never be timed on the loop. Every
``probe_every``-th batch of a class estimated dearer than the bound, but by less than
``probe_within`` times, runs inline once to be timed there.

Used on the event loop thread only: no locks.
"""

from __future__ import annotations

import collections

# How many recent batches of a size class its estimate is the fastest of.
COST_WINDOW = 32
# Every PROBE_EVERY-th batch of a class estimated dearer than the bound, but by less than
# PROBE_WITHIN times, runs inline once to be timed there.
PROBE_EVERY = 32
PROBE_WITHIN = 4.0


def size_class(size: int) -> int:
    """The class of a batch of ``size`` items: sizes that share a bit length share a class."""
    return size.bit_length()


class BatchCostEstimate:
    """Recent timings per size class, and the rule that decides inline execution."""

    def __init__(
        self,
        inline_below_s: float,
        *,
        window: int = COST_WINDOW,
        probe_every: int = PROBE_EVERY,
        probe_within: float = PROBE_WITHIN,
    ) -> None:
        self._inline_below = inline_below_s
        self._window = window
        self._probe_every = probe_every
        self._probe_within = probe_within
        self._timings: dict[int, collections.deque[float]] = {}
        self._seconds: dict[int, float] = {}
        self._probe_counts: dict[int, int] = {}

    def record(self, size: int, seconds: float) -> None:
        """One more timing of a batch of ``size`` items; 0 s or less (it failed) is ignored."""
        if seconds <= 0:
            return
        key = size_class(size)
        timings = self._timings.get(key)
        if timings is None:
            timings = self._timings[key] = collections.deque(maxlen=self._window)
        timings.append(seconds)
        self._seconds[key] = min(timings)

    def seconds(self, size: int) -> float | None:
        """The estimated cost of a batch of ``size`` items; None if its class was never timed."""
        return self._seconds.get(size_class(size))

    def runs_inline(self, size: int) -> bool:
        """Whether the next batch of ``size`` items should run on the event loop.

        Asking counts towards the class's probes, so ask once per batch.
        """
        key = size_class(size)
        seconds = self._seconds.get(key)
        if seconds is None:
            return False
        if seconds < self._inline_below:
            return True
        count = self._probe_counts.get(key, 0) + 1
        self._probe_counts[key] = count
        return seconds < self._probe_within * self._inline_below and count % self._probe_every == 0
