"""Derived numbers of a run: the limit of each scenario, its ratios, and the goals they meet.

The goals are issue 7's, for a small CPU machine. They are reported, never asserted: a
benchmark that fails a build on a busy machine teaches people to ignore it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vaeserve.bench.config import Scenario
from vaeserve.bench.ort import GRAPH_OF_METHOD, OrtPoint
from vaeserve.bench.run import BenchRun
from vaeserve.bench.stats import LoadResult, at_least, at_most, limit_items_per_s, ratio

MIN_SHARE_OF_LIMIT = 0.8
MAX_IDLE_LATENCY_FACTOR = 1.3
MAX_BATCHED_P99_FACTOR = 1.2
MAX_COLD_START_S = 3.0
MAX_PEAK_RSS_BYTES = 300 * 1024 * 1024
NAN = math.nan


@dataclass(frozen=True)
class Verdict:
    """One goal for one case: what was measured against what it had to be."""

    goal: str
    case: str
    measured: str
    bound: str
    met: bool | None  # None: a number it needs was not measured in this run


def result(run: BenchRun, target: str, scenario: Scenario) -> LoadResult | None:
    target_run = run.targets.get(target)
    return None if target_run is None else target_run.results.get(scenario)


def items_per_s(run: BenchRun, target: str, scenario: Scenario) -> float:
    found = result(run, target, scenario)
    return NAN if found is None else found.items_per_s


def best_ort(run: BenchRun, model: str, graph: str) -> OrtPoint | None:
    points = [p for p in run.ort if p.model == model and p.graph == graph]
    return max(points, key=lambda p: p.items_per_s) if points else None


def ort_at(run: BenchRun, model: str, graph: str, batch: int) -> OrtPoint | None:
    points = [p for p in run.ort if p.model == model and p.graph == graph and p.batch == batch]
    return points[0] if points else None


def limit(run: BenchRun, scenario: Scenario) -> float:
    """Transport ceiling of this very scenario in series with the best in-process compute."""
    best = best_ort(run, scenario.model, GRAPH_OF_METHOD[scenario.method])
    compute = NAN if best is None else best.items_per_s
    return limit_items_per_s(items_per_s(run, "transport", scenario), compute)


def throughput_verdicts(run: BenchRun) -> list[Verdict]:
    """At least 0.8 of the limit, and never below the naive server, where batching can help:
    one item per request at the highest concurrency, 256 at vaeserve's best concurrency."""
    verdicts = []
    top = max(run.settings.concurrency)
    for model in run.settings.models:
        for method in run.settings.methods:
            for items in run.settings.items:
                cases = [
                    s
                    for s in run.targets["vaeserve"].results
                    if (s.model, s.method, s.items) == (model, method, items)
                ]
                if not cases:
                    continue
                if items == 1:
                    picked = [s for s in cases if s.concurrency == top]
                else:
                    picked = [max(cases, key=lambda s: items_per_s(run, "vaeserve", s))]
                for scenario in picked:
                    verdicts.extend(_throughput_pair(run, scenario))
    return verdicts


def _throughput_pair(run: BenchRun, scenario: Scenario) -> list[Verdict]:
    mine = items_per_s(run, "vaeserve", scenario)
    case = _case(scenario)
    share = ratio(mine, limit(run, scenario))
    versus_naive = ratio(mine, items_per_s(run, "naive", scenario))
    return [
        Verdict(
            "items/s vs limit",
            case,
            _fmt(share),
            f">= {MIN_SHARE_OF_LIMIT}",
            at_least(share, MIN_SHARE_OF_LIMIT),
        ),
        Verdict(
            "items/s vs naive", case, _fmt(versus_naive), ">= 1.0", at_least(versus_naive, 1.0)
        ),
    ]


def idle_latency_verdicts(run: BenchRun) -> list[Verdict]:
    """At concurrency 1 the server must not wait to fill a batch: p50 within 1.3x of the
    transport's p50 plus one onnxruntime call of the request's size."""
    verdicts = []
    for scenario in run.targets["vaeserve"].results:
        if scenario.concurrency != 1:
            continue
        mine = result(run, "vaeserve", scenario)
        transport = result(run, "transport", scenario)
        call = ort_at(run, scenario.model, GRAPH_OF_METHOD[scenario.method], scenario.items)
        if mine is None or transport is None or call is None:
            bound = NAN
        else:
            bound = MAX_IDLE_LATENCY_FACTOR * (transport.p50_ms + call.ms_per_call)
        measured = NAN if mine is None else mine.p50_ms
        verdicts.append(
            Verdict(
                "p50 at concurrency 1 (ms)",
                _case(scenario),
                _fmt(measured),
                f"<= {_fmt(bound)}",
                at_most(measured, bound),
            )
        )
    return verdicts


def batching_verdicts(run: BenchRun) -> list[Verdict]:
    """Batching on must never cost requests/s, nor more than 1.2x the p99 of batching off."""
    verdicts = []
    for scenario, on in run.targets["vaeserve"].results.items():
        off = result(run, "vaeserve-unbatched", scenario)
        rps = ratio(on.requests_per_s, NAN if off is None else off.requests_per_s)
        p99 = ratio(on.p99_ms, NAN if off is None else off.p99_ms)
        case = _case(scenario)
        verdicts.append(
            Verdict("req/s, batching on / off", case, _fmt(rps), ">= 1.0", at_least(rps, 1.0))
        )
        verdicts.append(
            Verdict(
                "p99, batching on / off",
                case,
                _fmt(p99),
                f"<= {MAX_BATCHED_P99_FACTOR}",
                at_most(p99, MAX_BATCHED_P99_FACTOR),
            )
        )
    return verdicts


def process_verdicts(run: BenchRun) -> list[Verdict]:
    """Cold start, peak memory and the torch-free promise of each vaeserve process."""
    verdicts = []
    for name in ("vaeserve", "vaeserve-unbatched"):
        target = run.targets.get(name)
        if target is None or target.cost is None:
            continue
        cost = target.cost
        mb = cost.peak_rss_bytes / 2**20
        verdicts += [
            Verdict(
                "cold start to SERVING (s)",
                name,
                _fmt(cost.cold_start_s),
                f"< {MAX_COLD_START_S}",
                cost.cold_start_s < MAX_COLD_START_S,
            ),
            Verdict(
                "peak RSS (MiB)",
                name,
                f"{mb:.0f}",
                f"< {MAX_PEAK_RSS_BYTES / 2**20:.0f}",
                cost.peak_rss_bytes < MAX_PEAK_RSS_BYTES,
            ),
            Verdict(
                "torch imported",
                name,
                "yes" if cost.imported_torch else "no",
                "no",
                not cost.imported_torch,
            ),
        ]
    return verdicts


def all_verdicts(run: BenchRun) -> list[Verdict]:
    if "vaeserve" not in run.targets:
        return process_verdicts(run)
    return (
        throughput_verdicts(run)
        + idle_latency_verdicts(run)
        + batching_verdicts(run)
        + process_verdicts(run)
    )


def _case(s: Scenario) -> str:
    return f"{s.model} {s.method} x{s.items} c={s.concurrency}"


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
