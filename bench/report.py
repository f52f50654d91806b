"""Render a benchmark run as markdown: the goals first, then every number behind them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict

from vaeserve.bench.config import Scenario
from vaeserve.bench.ort import GRAPHS
from vaeserve.bench.profiler import hot_frames, thread_shares
from vaeserve.bench.run import BenchRun
from vaeserve.bench.stats import LoadResult, ratio
from vaeserve.bench.verdicts import Verdict, all_verdicts, best_ort, limit, result

TARGET_TITLES = {
    "vaeserve": "vaeserve, batching on",
    "vaeserve-unbatched": "vaeserve, batching off",
    "naive": "Naive server (one onnxruntime call per request)",
    "transport": "Transport ceiling (answers without computing)",
}
# Windows shorter than this prove the machinery works, not how fast anything is.
SMOKE_DURATION_S = 1.0
LOAD_COLUMNS = [
    "model",
    "method",
    "items/req",
    "conc.",
    "req/s",
    "items/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: float, digits: int = 0) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _load_cells(scenario: Scenario, found: LoadResult) -> list[str]:
    errors = ", ".join(f"{code} {count}" for code, count in sorted(found.errors.items()))
    return [
        scenario.model,
        scenario.method,
        str(scenario.items),
        str(scenario.concurrency),
        num(found.requests_per_s),
        num(found.items_per_s),
        num(found.p50_ms, 2),
        num(found.p95_ms, 2),
        num(found.p99_ms, 2),
        errors or "0",
    ]


def verdict_section(verdicts: Sequence[Verdict]) -> str:
    marks = {True: "met", False: "**missed**", None: "not measured"}
    rows = [[v.goal, v.case, v.measured, v.bound, marks[v.met]] for v in verdicts]
    met = sum(v.met is True for v in verdicts)
    missed = sum(v.met is False for v in verdicts)
    return (
        "## Goals\n\n"
        f"{met} met, {missed} missed, {len(verdicts) - met - missed} not measured. "
        "Goals are issue 7's for a 2-core CPU machine; they are reported, never asserted.\n\n"
        + table(["goal", "case", "measured", "bound", "verdict"], rows)
    )


def process_section(run: BenchRun) -> str:
    rows = []
    for name, target in run.targets.items():
        if target.cost is None:
            continue
        rows.append(
            [
                name,
                num(target.cost.cold_start_s, 2),
                num(target.cost.peak_rss_bytes / 2**20),
                "yes" if target.cost.imported_torch else "no",
            ]
        )
    return (
        "## Processes\n\nCold start: process start to SERVING on the overall health check (all "
        "models loaded and warmed up). Peak RSS: the kernel's high-water mark (VmHWM) at the "
        "end of the run. torch: whether any libtorch is mapped into the process.\n\n"
        + table(["target", "cold start s", "peak RSS MiB", "torch imported"], rows)
    )


def ort_section(run: BenchRun) -> str:
    sizes = sorted({p.batch for p in run.ort})
    rows = []
    for model in run.settings.models:
        for graph in GRAPHS:
            by_batch = {p.batch: p for p in run.ort if p.model == model and p.graph == graph}
            best = best_ort(run, model, graph)
            cells = [num(by_batch[b].items_per_s) if b in by_batch else "n/a" for b in sizes]
            best_cell = f"{num(best.items_per_s)} @ {best.batch}" if best else "n/a"
            rows.append([model, graph, *cells, best_cell])
    return (
        "## In-process onnxruntime (the compute limit)\n\nItems/s of each graph called "
        "directly, no gRPC, before any server of the run starts, by batch size; the best "
        "of one caller with intra-op spinning on, one with it off, and one single-threaded "
        "session per core called at once.\n\n"
        + table(["model", "graph", *map(str, sizes), "best"], rows)
    )


def target_section(run: BenchRun, name: str) -> str:
    target = run.targets[name]
    rows = [_load_cells(s, found) for s, found in target.results.items()]
    if not target.mean_batch:
        return f"## {TARGET_TITLES[name]}\n\n" + table(LOAD_COLUMNS, rows)
    for row, scenario in zip(rows, target.results, strict=True):
        row.append(num(target.mean_batch.get(scenario, math.nan), 1))
    note = "Mean batch: items per executed onnxruntime call, from the server's /metrics."
    return f"## {TARGET_TITLES[name]}\n\n{note}\n\n" + table([*LOAD_COLUMNS, "mean batch"], rows)


def ratio_section(run: BenchRun) -> str:
    """Every ratio of every scenario, vaeserve with batching on as the numerator."""
    header = [
        "model",
        "method",
        "items/req",
        "conc.",
        "limit items/s",
        "on / limit",
        "off / limit",
        "naive / limit",
        "on / naive",
        "req/s on / off",
        "p99 on / off",
    ]
    rows = []
    for scenario, on in run.targets["vaeserve"].results.items():
        cap = limit(run, scenario)
        off = result(run, "vaeserve-unbatched", scenario)
        naive = result(run, "naive", scenario)
        off_ips = math.nan if off is None else off.items_per_s
        naive_ips = math.nan if naive is None else naive.items_per_s
        rows.append(
            [
                scenario.model,
                scenario.method,
                str(scenario.items),
                str(scenario.concurrency),
                num(cap),
                num(ratio(on.items_per_s, cap), 2),
                num(ratio(off_ips, cap), 2),
                num(ratio(naive_ips, cap), 2),
                num(ratio(on.items_per_s, naive_ips), 2),
                num(ratio(on.requests_per_s, math.nan if off is None else off.requests_per_s), 2),
                num(ratio(on.p99_ms, math.nan if off is None else off.p99_ms), 2),
            ]
        )
    return (
        "## Ratios\n\nlimit = 1 / (1 / transport ceiling items/s + 1 / best in-process "
        "onnxruntime items/s): moving the bytes and doing the math share the same cores. "
        "The transport ceiling is taken at the same scenario (payload and concurrency).\n\n"
        + table(header, rows)
    )


def profile_section(run: BenchRun) -> str:
    """Where each profiled server process spent its samples over all its scenarios."""
    parts = [
        "## Profiles (py-spy, whole target run)\n\nSelf: samples in which the function itself "
        "ran; total: samples in which it was anywhere on the stack. Samples of threads blocked "
        "in the kernel are left out (py-spy's default)."
    ]
    for name, target in run.targets.items():
        if target.profile is None:
            continue
        threads = ", ".join(
            f"{t} {share:.0%}" for t, share in thread_shares(target.profile).items()
        )
        rows = [
            [f"`{hot.frame}`", f"{hot.self_share:.1%}", f"{hot.total_share:.1%}"]
            for hot in hot_frames(target.profile)
        ]
        parts.append(
            f"### {name}\n\nSamples by thread: {threads or 'none'}.\n\n"
            + table(["function", "self", "total"], rows)
        )
    return "\n\n".join(parts)


def header_section(run: BenchRun, command: str) -> str:
    s = run.settings
    rows = [[key, value] for key, value in run.environment.items()]
    rows += [
        ["command", f"`{command}`"],
        ["per scenario", f"{s.warmup_s:g} s warm-up, then {s.duration_s:g} s measured"],
        ["load generator", f"closed loop, grpc.aio, own process, {s.channels} channel(s)"],
        ["whole run", f"{run.wall_s:.0f} s"],
    ]
    if s.duration_s < SMOKE_DURATION_S:
        rows.append(
            ["caution", f"windows under {SMOKE_DURATION_S:g} s: a smoke run, not a measurement"]
        )
    return (
        "# vaeserve benchmark\n\nvaeserve against the limit of the machine it runs on, in one "
        "run: every target below was started on loopback and driven by the same load "
        "generator, one target at a time.\n\n" + table(["", ""], rows)
    )


def render(run: BenchRun, command: str) -> str:
    sections = [header_section(run, command), verdict_section(all_verdicts(run))]
    sections.append(process_section(run))
    sections.append(ort_section(run))
    if "vaeserve" in run.targets:
        sections.append(ratio_section(run))
    sections += [target_section(run, name) for name in run.targets]
    if any(target.profile is not None for target in run.targets.values()):
        sections.append(profile_section(run))
    return "\n\n".join(sections) + "\n"


def raw_json(run: BenchRun) -> str:
    """Every measured number, unrounded, for comparing runs by program rather than by eye."""
    targets = {
        name: {
            "cost": None if target.cost is None else asdict(target.cost),
            "results": [
                {"scenario": asdict(scenario), **found.to_dict()}
                for scenario, found in target.results.items()
            ],
        }
        for name, target in run.targets.items()
    }
    data = {
        "environment": run.environment,
        "wall_s": run.wall_s,
        "ort": [asdict(point) for point in run.ort],
        "targets": targets,
    }
    return json.dumps(data, indent=1, allow_nan=True) + "\n"
