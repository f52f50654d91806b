"""``vaeserve bench --workers 1,2``: the same server with 1 and with N serving processes.

One comparison, run in rounds whose order alternates (1, 2, then 2, 1, ...), so a noisy
neighbour or a warming cache weighs on both sides alike; the report gives the median of
the rounds and every round's numbers. Every server of the comparison is driven by the same
load generator with the same channels: at least four per worker of the largest count,
each its own connection, because SO_REUSEPORT spreads connections, not calls, and a hash
over a few connections can leave a worker idle. The load generator shares the machine's
cores with the server, which is said in the report.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from vaeserve.bench.config import BenchSettings, ModelShape, Scenario
from vaeserve.bench.loadgen import LoadGenerator, LoadJob
from vaeserve.bench.models import find_model
from vaeserve.bench.processes import ServerProcess, ServerStartError, free_port
from vaeserve.bench.run import environment, target_command
from vaeserve.bench.stats import LoadResult

Progress = Callable[[str], None]
READY_SERVICE = "vaeserve.v1.VaeService"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass(frozen=True)
class CoresUsed:
    """CPU time over wall time while one scenario ran: how many cores each side kept busy."""

    server: float
    load_generator: float


@dataclass
class WorkersRun:
    """Every round's result per worker count and scenario."""

    settings: BenchSettings
    channels: int
    rounds: dict[int, dict[Scenario, list[LoadResult]]] = field(default_factory=dict)
    cores: dict[int, dict[Scenario, list[CoresUsed]]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)


def channels_for(settings: BenchSettings) -> int:
    """One channel count for every server of the comparison: enough for the largest."""
    return settings.load_channels(max(settings.workers))


def run_workers_comparison(
    settings: BenchSettings, log_dir: Path, progress: Progress
) -> WorkersRun:
    """Measure every scenario on a server of each worker count, rounds alternating."""
    shapes = {name: find_model(settings.repository, name).shape for name in settings.models}
    run = WorkersRun(settings, channels_for(settings))
    run.rounds = {count: {} for count in settings.workers}
    run.cores = {count: {} for count in settings.workers}
    with LoadGenerator() as loadgen:
        for round_index in range(settings.rounds):
            order = settings.workers if round_index % 2 == 0 else settings.workers[::-1]
            for count in order:
                name = f"workers-{count}-round-{round_index + 1}"
                results = _measure(settings, count, shapes, loadgen, log_dir / f"{name}.log", run)
                for scenario, (result, cores) in results.items():
                    run.rounds[count].setdefault(scenario, []).append(result)
                    run.cores[count].setdefault(scenario, []).append(cores)
                    progress(_progress_line(count, round_index, scenario, result))
    run.environment = environment()
    return run


def _measure(
    settings: BenchSettings,
    count: int,
    shapes: dict[str, ModelShape],
    loadgen: LoadGenerator,
    log_path: Path,
    run: WorkersRun,
) -> dict[Scenario, tuple[LoadResult, CoresUsed]]:
    port, metrics_port = free_port(), free_port()
    command = [*target_command("vaeserve", settings, port, metrics_port), "--workers", str(count)]
    results = {}
    with ServerProcess(command, f"127.0.0.1:{port}", log_path) as server:
        server.wait_serving(settings.startup_timeout_s)
        _wait_ready(server.address, settings.startup_timeout_s)
        for scenario in settings.scenarios():
            job = LoadJob(
                server.address,
                scenario,
                shapes[scenario.model],
                settings.duration_s,
                settings.warmup_s,
                run.channels,
            )
            started = time.perf_counter()
            server_cpu, loadgen_cpu = tree_cpu_s(server.pid), tree_cpu_s(loadgen.pid)
            result = loadgen.run(job)
            wall = time.perf_counter() - started
            cores = CoresUsed(
                (tree_cpu_s(server.pid) - server_cpu) / wall,
                (tree_cpu_s(loadgen.pid) - loadgen_cpu) / wall,
            )
            results[scenario] = (result, cores)
    return results


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and every live descendant, from /proc."""
    total = 0.0
    for member in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _wait_ready(address: str, timeout_s: float) -> None:
    """Until the inference service is SERVING: with several workers, until all are warm
    (the liveness check that ServerProcess waits for turns SERVING as soon as one listens)."""
    deadline = time.monotonic() + timeout_s
    request = health_pb2.HealthCheckRequest(service=READY_SERVICE)
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            with contextlib.suppress(grpc.RpcError):
                if stub.Check(request, timeout=1.0).status == SERVING:
                    return
            time.sleep(0.05)
    raise ServerStartError(f"{address} was not ready after {timeout_s:.0f} s")


def _progress_line(count: int, round_index: int, scenario: Scenario, result: LoadResult) -> str:
    errors = f", errors {dict(result.errors)}" if result.errors else ""
    return (
        f"workers {count}, round {round_index + 1}: {scenario.model} {scenario.method} "
        f"items={scenario.items} c={scenario.concurrency}: {result.requests_per_s:.0f} req/s, "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms{errors}"
    )


def render_workers(run: WorkersRun, command: str) -> str:
    """The markdown report: medians side by side, the ratio to 1 worker, then every round."""
    counts = run.settings.workers
    base = counts[0]
    lines = [
        "# Several serving processes: `--workers` " + " against ".join(map(str, counts)),
        "",
        f"Command: `{command}`",
        "",
        f"Each server was measured {run.settings.rounds} times, the order of the worker counts "
        "alternating from round to round; the tables give the median of the rounds. The load "
        f"generator is one process with {run.channels} channels (one connection each) on the "
        "same machine: its CPU comes out of the same cores the workers use. Server and load "
        "generator cores are CPU seconds over wall seconds while a scenario ran (warm-up "
        "included), the server's summed over the supervisor and its workers. *Paired* is the "
        "median over rounds of each round's req/s against the same round's "
        f"{base}-worker req/s, measured minutes apart: less swayed by the machine's neighbours "
        "than a ratio of medians.",
        "",
        "## Medians",
        "",
        "| model | method | items | concurrency | workers | req/s | items/s | p50 ms | p99 ms "
        f"| req/s vs {base} worker | paired | server cores | load generator cores |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in run.settings.scenarios():
        base_rps = _median(run.rounds[base][scenario], "requests_per_s")
        for count in counts:
            results = run.rounds[count][scenario]
            cores = run.cores[count][scenario]
            rps = _median(results, "requests_per_s")
            lines.append(
                f"| {scenario.model} | {scenario.method} | {scenario.items} "
                f"| {scenario.concurrency} | {count} | {rps:,.0f} "
                f"| {_median(results, 'items_per_s'):,.0f} | {_median(results, 'p50_ms'):.2f} "
                f"| {_median(results, 'p99_ms'):.2f} | {rps / base_rps if base_rps else 0:.2f} "
                f"| {_paired_ratio(results, run.rounds[base][scenario]):.2f} "
                f"| {_median(cores, 'server'):.2f} | {_median(cores, 'load_generator'):.2f} |"
            )
    lines += [
        "",
        "## Every round (req/s)",
        "",
        "| model | method | items | concurrency | workers | rounds | errors |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for scenario in run.settings.scenarios():
        for count in counts:
            results = run.rounds[count][scenario]
            each = ", ".join(f"{r.requests_per_s:,.0f}" for r in results)
            errors: dict[str, int] = {}
            for result in results:
                for code, n in result.errors.items():
                    errors[code] = errors.get(code, 0) + n
            lines.append(
                f"| {scenario.model} | {scenario.method} | {scenario.items} "
                f"| {scenario.concurrency} | {count} | {each} | {errors or '-'} |"
            )
    lines += ["", "## Environment", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in run.environment.items()]
    return "\n".join(lines) + "\n"


def _paired_ratio(results: list[LoadResult], base: list[LoadResult]) -> float:
    ratios = [
        r.requests_per_s / b.requests_per_s
        for r, b in zip(results, base, strict=True)
        if b.requests_per_s > 0
    ]
    return float(statistics.median(ratios)) if ratios else 0.0


def _median(results: Sequence[object], name: str) -> float:
    return float(statistics.median(getattr(result, name) for result in results))
