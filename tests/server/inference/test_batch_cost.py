"""The batch-cost estimate on its own: which batch sizes it calls cheap enough to run inline."""

from __future__ import annotations

from vaeserve.server.inference.batch_cost import BatchCostEstimate, size_class

BOUND_S = 200e-6


def test_a_size_class_never_timed_does_not_run_inline() -> None:
    assert not BatchCostEstimate(BOUND_S).runs_inline(4)


def test_a_size_class_timed_below_the_bound_runs_inline() -> None:
    costs = BatchCostEstimate(BOUND_S)
    costs.record(4, 50e-6)
    assert costs.runs_inline(4)


def test_a_size_class_timed_above_the_bound_does_not_run_inline() -> None:
    costs = BatchCostEstimate(BOUND_S, probe_every=1_000_000)
    costs.record(4, 10 * BOUND_S)
    assert not costs.runs_inline(4)


def test_sizes_that_share_a_bit_length_share_an_estimate() -> None:
    costs = BatchCostEstimate(BOUND_S)
    costs.record(4, 50e-6)
    assert costs.runs_inline(7)
    assert not costs.runs_inline(8)
    assert [size_class(n) for n in (1, 2, 3, 4, 7, 8)] == [1, 2, 2, 3, 3, 4]


def test_the_estimate_is_the_fastest_recent_timing() -> None:
    costs = BatchCostEstimate(BOUND_S)
    for seconds in (3e-4, 1e-4, 9e-4):
        costs.record(1, seconds)
    assert costs.seconds(1) == 1e-4


def test_a_fast_timing_is_forgotten_once_it_leaves_the_window() -> None:
    costs = BatchCostEstimate(BOUND_S, window=2)
    costs.record(1, 1e-4)
    costs.record(1, 5e-4)
    costs.record(1, 6e-4)
    assert costs.seconds(1) == 5e-4


def test_a_failed_batch_is_not_a_timing() -> None:
    costs = BatchCostEstimate(BOUND_S)
    costs.record(1, 0.0)
    assert costs.seconds(1) is None


def test_a_class_a_little_dearer_than_the_bound_is_probed_inline_now_and_then() -> None:
    costs = BatchCostEstimate(BOUND_S, probe_every=3, probe_within=4.0)
    costs.record(2, 2 * BOUND_S)
    assert [costs.runs_inline(2) for _ in range(6)] == [False, False, True, False, False, True]


def test_a_class_far_dearer_than_the_bound_is_never_probed() -> None:
    costs = BatchCostEstimate(BOUND_S, probe_every=1, probe_within=4.0)
    costs.record(2, 5 * BOUND_S)
    assert not any(costs.runs_inline(2) for _ in range(10))


def test_a_zero_bound_never_runs_anything_inline() -> None:
    costs = BatchCostEstimate(0.0, probe_every=1)
    costs.record(1, 1e-9)
    assert not costs.runs_inline(1)
