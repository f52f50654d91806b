"""The goals a run is judged by, on made-up numbers where the right verdict is known."""

from pathlib import Path

import pytest

from vaeserve.bench.config import BenchSettings, ModelShape, Scenario
from vaeserve.bench.ort import OrtPoint
from vaeserve.bench.processes import ServerCost
from vaeserve.bench.report import render
from vaeserve.bench.run import BenchRun, TargetRun
from vaeserve.bench.stats import LoadResult
from vaeserve.bench.verdicts import all_verdicts, limit

SETTINGS = BenchSettings(
    repository=Path("models"),
    output=Path("report.md"),
    models=("m",),
    methods=("Decode",),
    items=(1,),
    concurrency=(1, 8),
    ort_batch_sizes=(1, 8),
)
IDLE, BUSY = Scenario("m", "Decode", 1, 1), Scenario("m", "Decode", 1, 8)


def _load(items_per_s: float, p50_ms: float = 1.0, p99_ms: float = 2.0) -> LoadResult:
    return LoadResult(int(items_per_s), int(items_per_s), 1.0, p50_ms, p50_ms, p99_ms)


def _run(vaeserve: LoadResult, unbatched: LoadResult | None = None) -> BenchRun:
    """Transport 2000 items/s and compute 2000 items/s: a limit of 1000 items/s."""
    loads = {
        "vaeserve": vaeserve,
        "vaeserve-unbatched": unbatched or _load(500),
        "naive": _load(600),
        "transport": _load(2000, p50_ms=0.5),
    }
    cost = ServerCost(cold_start_s=1.0, peak_rss_bytes=100 * 2**20, imported_torch=False)
    targets = {
        name: TargetRun(name, {IDLE: load, BUSY: load}, cost) for name, load in loads.items()
    }
    ort = [OrtPoint("m", "decoder", 1, 1000.0, 1.0), OrtPoint("m", "decoder", 8, 2000.0, 4.0)]
    shapes = {"m": ModelShape("m", 2, 1, 4, 4)}
    return BenchRun(SETTINGS, shapes, ort, targets, {"CPU": "test"}, wall_s=1.0)


def _verdict(run: BenchRun, goal: str, case: str) -> bool | None:
    found = [v.met for v in all_verdicts(run) if v.goal == goal and v.case == case]
    assert len(found) == 1, (goal, case, found)
    return found[0]


def test_limit_uses_the_best_batch_size_of_the_graph():
    assert limit(_run(_load(900)), BUSY) == pytest.approx(1000.0)


def test_a_server_at_nine_tenths_of_the_limit_meets_the_throughput_goal():
    assert _verdict(_run(_load(900)), "items/s vs limit", "m Decode x1 c=8") is True


def test_a_server_at_half_the_limit_misses_the_throughput_goal():
    assert _verdict(_run(_load(500)), "items/s vs limit", "m Decode x1 c=8") is False


def test_a_server_slower_than_the_naive_one_misses_that_goal():
    assert _verdict(_run(_load(550)), "items/s vs naive", "m Decode x1 c=8") is False


def test_an_idle_server_that_waits_for_a_batch_misses_the_latency_goal():
    # bound: 1.3 x (0.5 ms transport + 1.0 ms batch-1 call) = 1.95 ms
    fast = _run(_load(900, p50_ms=1.9))
    assert _verdict(fast, "p50 at concurrency 1 (ms)", "m Decode x1 c=1") is True
    slow = _run(_load(900, p50_ms=2.5))
    assert _verdict(slow, "p50 at concurrency 1 (ms)", "m Decode x1 c=1") is False


def test_batching_that_costs_requests_per_second_is_flagged():
    run = _run(_load(900), unbatched=_load(950))
    assert _verdict(run, "req/s, batching on / off", "m Decode x1 c=8") is False


def test_batching_that_triples_the_tail_latency_is_flagged():
    run = _run(_load(900, p99_ms=6.0), unbatched=_load(500, p99_ms=2.0))
    assert _verdict(run, "p99, batching on / off", "m Decode x1 c=8") is False


def test_a_server_that_imported_torch_misses_that_goal():
    run = _run(_load(900))
    run.targets["vaeserve"].cost = ServerCost(1.0, 100 * 2**20, imported_torch=True)
    assert _verdict(run, "torch imported", "vaeserve") is False


def test_a_goal_whose_baseline_was_not_run_is_reported_as_not_measured():
    run = _run(_load(900))
    del run.targets["naive"]
    assert _verdict(run, "items/s vs naive", "m Decode x1 c=8") is None
    assert "not measured" in render(run, "vaeserve bench")
