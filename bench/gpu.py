"""The GPU benchmark: vaeserve on CUDA against raw onnxruntime CUDA and the no-op transport.

``make gpu-check`` runs it on a machine with an NVIDIA GPU (``python -m vaeserve.bench.gpu``)
and it writes ``reports/gpu.md``. What it measures, per model and graph:

- raw onnxruntime, in process: images/s of one session of the graph called with batches of
  1, 16, 256 and 1,024 items, on the same provider and provider options the server uses,
  and the time of one one-item call;
- vaeserve (a ``vaeserve serve`` child process, one per ``--workers`` count when the build
  has that flag): images/s of Decode and Encode at 1, 16, 256 and 1,024 items per request,
  closed loop, and the p50 of one one-item call at a time;
- the transport server (:mod:`vaeserve.bench.baselines`): the p50 of one one-item call at a
  time when nothing is computed.

Goals (issue 13): at 1,024 items per request, at least 0.8 of raw onnxruntime's images/s;
one-item p50 within 1.3x of the transport's p50 plus one raw call. ``--provider cpu`` runs
the whole benchmark on the CPU provider, which is how it is tested where there is no GPU.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.loadgen import LoadGenerator, LoadJob
from vaeserve.bench.models import BenchModel, find_model
from vaeserve.bench.processes import ServerProcess, free_port
from vaeserve.bench.report import num, table
from vaeserve.bench.stats import LoadResult, at_least, at_most, ratio

Progress = Callable[[str], None]
METHODS = ("Decode", "Encode")
GRAPH_OF = {"Decode": "decoder", "Encode": "encoder"}
ITEMS = (1, 16, 256, 1024)
WORKERS = (1, 2, 4)
MIN_SHARE_OF_RAW = 0.8
MAX_P50_FACTOR = 1.3
PROVIDERS = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}


@dataclass(frozen=True)
class GpuSettings:
    repository: Path
    output: Path
    provider: str = "cuda"
    models: tuple[str, ...] = ("fashion-mnist", "fashion-mnist-conv")
    items: tuple[int, ...] = ITEMS
    workers: tuple[int, ...] = WORKERS
    # Closed-loop callers for the throughput scenarios (the latency ones use one).
    concurrency: int = 8
    duration_s: float = 1.0
    warmup_s: float = 0.3
    ort_seconds: float = 0.5
    server_args: tuple[str, ...] = ()
    startup_timeout_s: float = 180.0
    # The pytest output of the gpu-marked tests, whose summary goes into the report.
    tests_log: Path | None = None


@dataclass(frozen=True)
class RawPoint:
    """One graph at one batch size, called in process."""

    model: str
    graph: str
    batch: int
    items_per_s: float
    ms_per_call: float


@dataclass
class ServerRun:
    """Every scenario against a server started with one workers count."""

    workers: int
    throughput: dict[Scenario, LoadResult] = field(default_factory=dict)
    latency: dict[Scenario, LoadResult] = field(default_factory=dict)


@dataclass
class GpuRun:
    settings: GpuSettings
    device: str
    onnxruntime: str
    raw: list[RawPoint]
    servers: list[ServerRun]
    transport: dict[Scenario, LoadResult]
    workers_note: str
    tests_summary: str
    wall_s: float


def raw_session(path: Path, provider: str) -> Any:
    """An onnxruntime session as the server makes one: same provider, same options."""
    import onnxruntime as ort

    from vaeserve.server.inference.sessions import CPU, provider_options

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [PROVIDERS[provider], CPU] if provider == "cuda" else [CPU]
    return ort.InferenceSession(str(path), options, providers=provider_options(providers))


def _feed(model: BenchModel, graph: str, batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    shape = model.shape
    if graph == "decoder":
        return {"z": rng.standard_normal((batch, shape.latent_dim), dtype=np.float32)}
    return {"x": rng.random((batch, shape.channels, shape.height, shape.width), np.float32)}


def measure_raw(
    models: Sequence[BenchModel], batch_sizes: Sequence[int], provider: str, seconds: float
) -> list[RawPoint]:
    """Items/s of each graph at each batch size, and the median time of one call."""
    points = []
    for model in models:
        for graph in ("decoder", "encoder"):
            path = model.decoder_path if graph == "decoder" else model.encoder_path
            session = raw_session(path, provider)
            for batch in batch_sizes:
                feed = _feed(model, graph, batch)
                for _ in range(3):  # the first calls of a shape allocate and pick kernels
                    session.run(None, feed)
                calls: list[float] = []
                started = time.perf_counter()
                while len(calls) < 5 or time.perf_counter() - started < seconds:
                    t0 = time.perf_counter()
                    session.run(None, feed)
                    calls.append(time.perf_counter() - t0)
                elapsed = time.perf_counter() - started
                points.append(
                    RawPoint(
                        model.shape.name,
                        graph,
                        batch,
                        len(calls) * batch / elapsed,
                        statistics.median(calls) * 1e3,
                    )
                )
    return points


def supports_workers() -> bool:
    """Whether this build's ``vaeserve serve`` has a ``--workers`` flag (issue 13)."""
    found = subprocess.run(
        [sys.executable, "-m", "vaeserve", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "--workers" in found.stdout


def server_command(settings: GpuSettings, port: int, workers: int | None) -> list[str]:
    command = [
        *(sys.executable, "-m", "vaeserve", "--log-level", "WARNING", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--metrics-port", "-1", "--http-port", "-1"),
        *("--model-repository", str(settings.repository)),
        *("--execution-provider", settings.provider),
        *("--max-items-per-request", str(max(settings.items))),
        *settings.server_args,
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    return command


def _transport_command(settings: GpuSettings, port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "vaeserve.bench.baselines", "transport"),
        *("--model-repository", str(settings.repository), "--models", ",".join(settings.models)),
        *("--address", f"127.0.0.1:{port}"),
    ]


def _job(
    settings: GpuSettings, address: str, scenario: Scenario, shape: ModelShape, channels: int
) -> LoadJob:
    return LoadJob(address, scenario, shape, settings.duration_s, settings.warmup_s, channels)


def measure_server(
    settings: GpuSettings,
    shapes: dict[str, ModelShape],
    loadgen: LoadGenerator,
    workers: int | None,
    log_dir: Path,
    progress: Progress,
) -> ServerRun:
    port = free_port()
    run = ServerRun(workers or 1)
    channels = workers or 1
    log_path = log_dir / f"vaeserve-w{run.workers}.log"
    with ServerProcess(server_command(settings, port, workers), f"127.0.0.1:{port}", log_path) as s:
        cold = s.wait_serving(settings.startup_timeout_s)
        progress(f"gpu bench: vaeserve --workers {run.workers} SERVING after {cold:.1f} s")
        for model in settings.models:
            for method in METHODS:
                one = Scenario(model, method, 1, 1)
                run.latency[one] = loadgen.run(_job(settings, s.address, one, shapes[model], 1))
                for items in settings.items:
                    scenario = Scenario(model, method, items, settings.concurrency)
                    job = _job(settings, s.address, scenario, shapes[model], channels)
                    found = run.throughput[scenario] = loadgen.run(job)
                    progress(
                        f"gpu bench: workers {run.workers} {model} {method} x{items}: "
                        f"{found.items_per_s:.0f} images/s"
                    )
    return run


def measure_transport(
    settings: GpuSettings,
    shapes: dict[str, ModelShape],
    loadgen: LoadGenerator,
    log_dir: Path,
) -> dict[Scenario, LoadResult]:
    port = free_port()
    found = {}
    command = _transport_command(settings, port)
    with ServerProcess(command, f"127.0.0.1:{port}", log_dir / "transport.log") as server:
        server.wait_serving(settings.startup_timeout_s)
        for model in settings.models:
            for method in METHODS:
                one = Scenario(model, method, 1, 1)
                found[one] = loadgen.run(_job(settings, server.address, one, shapes[model], 1))
    return found


def device_name(provider: str) -> str:
    """The GPU as nvidia-smi names it, or the CPU provider's stand-in."""
    if provider != "cuda":
        return "none: the CPU provider (a check of the benchmark, not a GPU measurement)"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "unknown (no nvidia-smi)"
    query = "--query-gpu=name,driver_version,memory.total"
    found = subprocess.run(
        [smi, query, "--format=csv,noheader"], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown"


def summary_of_tests(log: Path | None) -> str:
    """The last line of a pytest run (``N passed, M skipped in S s``), or why there is none."""
    if log is None or not log.exists():
        return "not run with this benchmark"
    lines = [ln.strip("= ").strip() for ln in log.read_text().splitlines() if ln.strip()]
    return lines[-1] if lines else "the test log is empty"


def run_gpu_bench(settings: GpuSettings, log_dir: Path, progress: Progress) -> GpuRun:
    import onnxruntime as ort

    started = time.perf_counter()
    models = [find_model(settings.repository, name) for name in settings.models]
    shapes = {m.shape.name: m.shape for m in models}
    progress(f"gpu bench: raw onnxruntime on {settings.provider}")
    raw = measure_raw(models, settings.items, settings.provider, settings.ort_seconds)
    has_workers = supports_workers()
    counts: Sequence[int | None] = settings.workers if has_workers else [None]
    note = (
        f"--workers {', '.join(map(str, settings.workers))}"
        if has_workers
        else "this build's `vaeserve serve` has no --workers flag: one serving process only"
    )
    with LoadGenerator() as loadgen:
        transport = measure_transport(settings, shapes, loadgen, log_dir)
        servers = [
            measure_server(settings, shapes, loadgen, workers, log_dir, progress)
            for workers in counts
        ]
    return GpuRun(
        settings=settings,
        device=device_name(settings.provider),
        onnxruntime=f"{ort.__version__} ({', '.join(ort.get_available_providers())})",
        raw=raw,
        servers=servers,
        transport=transport,
        workers_note=note,
        tests_summary=summary_of_tests(settings.tests_log),
        wall_s=time.perf_counter() - started,
    )


def _raw(run: GpuRun, model: str, graph: str, batch: int) -> RawPoint | None:
    for point in run.raw:
        if (point.model, point.graph, point.batch) == (model, graph, batch):
            return point
    return None


@dataclass(frozen=True)
class GpuVerdict:
    goal: str
    case: str
    measured: float
    bound: str
    met: bool | None


def verdicts(run: GpuRun) -> list[GpuVerdict]:
    found = []
    largest = max(run.settings.items)
    for server in run.servers:
        for model in run.settings.models:
            for method in METHODS:
                graph = GRAPH_OF[method]
                big = server.throughput.get(
                    Scenario(model, method, largest, run.settings.concurrency)
                )
                raw_big = _raw(run, model, graph, largest)
                share = ratio(
                    big.items_per_s if big else float("nan"),
                    raw_big.items_per_s if raw_big else float("nan"),
                )
                found.append(
                    GpuVerdict(
                        f"images/s at {largest} items vs raw onnxruntime",
                        f"{model} {method} workers {server.workers}",
                        share,
                        f">= {MIN_SHARE_OF_RAW:g}",
                        at_least(share, MIN_SHARE_OF_RAW),
                    )
                )
                one = Scenario(model, method, 1, 1)
                lat, carried = server.latency.get(one), run.transport.get(one)
                raw_one = _raw(run, model, graph, 1)
                floor = (
                    carried.p50_ms + raw_one.ms_per_call if carried and raw_one else float("nan")
                )
                factor = ratio(lat.p50_ms if lat else float("nan"), floor)
                found.append(
                    GpuVerdict(
                        "one-item p50 vs transport + one call",
                        f"{model} {method} workers {server.workers}",
                        factor,
                        f"<= {MAX_P50_FACTOR:g}",
                        at_most(factor, MAX_P50_FACTOR),
                    )
                )
    return found


def render(run: GpuRun) -> str:
    s = run.settings
    marks = {True: "met", False: "**missed**", None: "not measured"}
    header = table(
        ["", ""],
        [
            ["device", run.device],
            ["provider", s.provider],
            ["onnxruntime", run.onnxruntime],
            ["gpu-marked tests", run.tests_summary],
            ["workers", run.workers_note],
            ["per scenario", f"{s.warmup_s:g} s warm-up, {s.duration_s:g} s measured"],
            ["throughput callers", f"{s.concurrency}, closed loop, own process"],
            ["server flags", " ".join(s.server_args) or "defaults"],
            ["whole run", f"{run.wall_s:.0f} s"],
        ],
    )
    goals = table(
        ["goal", "case", "measured", "bound", "verdict"],
        [[v.goal, v.case, num(v.measured, 2), v.bound, marks[v.met]] for v in verdicts(run)],
    )
    raw_rows = [
        [p.model, p.graph, str(p.batch), num(p.items_per_s), num(p.ms_per_call, 3)] for p in run.raw
    ]
    raw = table(["model", "graph", "batch", "images/s", "ms per call (median)"], raw_rows)
    server_rows = []
    for server in run.servers:
        for scenario, found in server.throughput.items():
            point = _raw(run, scenario.model, GRAPH_OF[scenario.method], scenario.items)
            server_rows.append(
                [
                    str(server.workers),
                    scenario.model,
                    scenario.method,
                    str(scenario.items),
                    num(found.items_per_s),
                    num(point.items_per_s if point else float("nan")),
                    num(ratio(found.items_per_s, point.items_per_s if point else float("nan")), 2),
                    num(found.p50_ms, 2),
                    num(found.p99_ms, 2),
                    str(sum(found.errors.values())),
                ]
            )
    served = table(
        [
            "workers",
            "model",
            "method",
            "items/req",
            "images/s",
            "raw ORT images/s",
            "vs raw",
            "p50 ms",
            "p99 ms",
            "errors",
        ],
        server_rows,
    )
    latency_rows = []
    for server in run.servers:
        for scenario, found in server.latency.items():
            carried = run.transport.get(scenario)
            point = _raw(run, scenario.model, GRAPH_OF[scenario.method], 1)
            latency_rows.append(
                [
                    str(server.workers),
                    scenario.model,
                    scenario.method,
                    num(found.p50_ms, 3),
                    num(carried.p50_ms if carried else float("nan"), 3),
                    num(point.ms_per_call if point else float("nan"), 3),
                ]
            )
    latency = table(
        ["workers", "model", "method", "p50 ms", "transport p50 ms", "one raw call ms"],
        latency_rows,
    )
    return (
        "# vaeserve on the GPU\n\nWritten by `make gpu-check` (bench/gpu.py): vaeserve on "
        "the CUDA provider against raw onnxruntime CUDA in process and the no-op transport, "
        "on one machine, in one run.\n\n"
        + header
        + "\n\n## Goals\n\n"
        + goals
        + "\n\n## vaeserve images/s against raw onnxruntime\n\n"
        + served
        + "\n\n## One item at a time\n\n"
        + latency
        + "\n\n## Raw onnxruntime, in process\n\n"
        + raw
        + "\n"
    )


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vaeserve.bench.gpu",
        description="Benchmark vaeserve on the GPU against raw onnxruntime and the transport.",
    )
    add = parser.add_argument
    add("--model-repository", type=Path, default=None, help="default: the embedded models")
    add("--output", type=Path, default=Path("reports/gpu.md"))
    add("--provider", choices=sorted(PROVIDERS), default="cuda")
    add("--models", default="fashion-mnist,fashion-mnist-conv")
    add("--items", default=",".join(map(str, ITEMS)))
    add("--workers", default=",".join(map(str, WORKERS)))
    add("--concurrency", type=int, default=8)
    add("--duration", type=float, default=1.0)
    add("--warmup", type=float, default=0.3)
    add("--ort-seconds", type=float, default=0.5)
    add("--server-args", default="", help="extra `vaeserve serve` flags, written with '='")
    add("--tests-log", type=Path, default=None, help="pytest output of the gpu-marked tests")
    args = parser.parse_args(argv)
    from vaeserve.server.settings import embedded_repository

    settings = GpuSettings(
        repository=args.model_repository or embedded_repository(),
        output=args.output,
        provider=args.provider,
        models=tuple(m for m in args.models.split(",") if m),
        items=_counts(args.items),
        workers=_counts(args.workers),
        concurrency=args.concurrency,
        duration_s=args.duration,
        warmup_s=args.warmup,
        ort_seconds=args.ort_seconds,
        server_args=tuple(args.server_args.split()),
        tests_log=args.tests_log,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # SIGTERM (make's timeout) unwinds the context managers: no server is left behind.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="vaeserve-gpu-bench-") as logs:
        run = run_gpu_bench(settings, Path(logs), lambda line: print(line, file=sys.stderr))
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(render(run), encoding="utf-8")
    print(f"report written to {settings.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
