"""One benchmark run, start to end: compute limit first, then every target in turn.

Order matters on a small machine: the in-process onnxruntime measurement runs before any
server exists, and only one target process is alive at a time, next to the one load
generator process, so no measurement shares the cores with an idle-looking neighbour.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
import onnxruntime as ort

from vaeserve import __version__
from vaeserve.bench.config import BenchSettings, ModelShape, Scenario
from vaeserve.bench.loadgen import LoadGenerator, LoadGenError, LoadJob
from vaeserve.bench.metrics import scrape_batch_tally
from vaeserve.bench.models import BenchModelError, find_model
from vaeserve.bench.ort import OrtPoint, measure_models
from vaeserve.bench.processes import ServerCost, ServerProcess, ServerStartError, free_port
from vaeserve.bench.profiler import Profiler, ProfilerError
from vaeserve.bench.stats import LoadResult
from vaeserve.manifest import ManifestError

Progress = Callable[[str], None]
# What stops a run with a message a person can act on (anything else is a bug: traceback).
BENCH_ERRORS = (BenchModelError, ManifestError, ServerStartError, LoadGenError, ProfilerError)


@dataclass
class TargetRun:
    """Every scenario's result on one target, and what its process cost."""

    name: str
    results: dict[Scenario, LoadResult] = field(default_factory=dict)
    cost: ServerCost | None = None
    # Collapsed py-spy stacks of the whole target run, when profiling was asked for.
    profile: str | None = None
    # Mean executed batch size per scenario, from the server's /metrics (vaeserve only).
    mean_batch: dict[Scenario, float] = field(default_factory=dict)


@dataclass
class BenchRun:
    settings: BenchSettings
    shapes: dict[str, ModelShape]
    ort: list[OrtPoint]
    targets: dict[str, TargetRun]
    environment: dict[str, str]
    wall_s: float


def target_command(name: str, settings: BenchSettings, port: int, metrics_port: int) -> list[str]:
    """The command line that starts target ``name`` listening on 127.0.0.1:``port``."""
    repository = str(settings.repository)
    if name in ("naive", "transport"):
        return [
            *(sys.executable, "-m", "vaeserve.bench.baselines", name),
            *("--model-repository", repository, "--models", ",".join(settings.models)),
            *("--address", f"127.0.0.1:{port}", "--ort-threads", str(settings.ort_threads)),
        ]
    command = [
        *(sys.executable, "-m", "vaeserve", "--log-level", "WARNING", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--metrics-port", str(metrics_port)),
        *("--http-port", "-1"),
        *("--model-repository", repository),
        *settings.server_args,
    ]
    if name == "vaeserve-unbatched":
        command += settings.unbatched_args
    return command


def environment() -> dict[str, str]:
    """What the numbers were measured on; they mean little without it."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "platform": platform.platform(),
        "Python": platform.python_version(),
        "vaeserve": __version__,
        "onnxruntime": f"{ort.__version__} ({', '.join(ort.get_available_providers())})",
        "grpcio": grpc.__version__,
    }


def _run_target(
    name: str,
    settings: BenchSettings,
    shapes: dict[str, ModelShape],
    loadgen: LoadGenerator,
    log_dir: Path,
    progress: Progress,
) -> TargetRun:
    """Start one target, drive every scenario against it, read its cost, stop it."""
    port, metrics_port = free_port(), free_port()
    command = target_command(name, settings, port, metrics_port)
    run = TargetRun(name)
    with ServerProcess(command, f"127.0.0.1:{port}", log_dir / f"{name}.log") as server:
        cold = server.wait_serving(settings.startup_timeout_s)
        progress(f"{name}: SERVING after {cold:.2f} s")
        profiler = _start_profiler(name, settings, server.pid)
        driver = _Driver(run, settings, loadgen, server.address, progress)
        for scenario in settings.scenarios():
            driver.measure(scenario, shapes[scenario.model], metrics_port)
        run.cost = server.cost()
        if profiler is not None:
            run.profile = profiler.stop().read_text()
            progress(f"{name}: profile written to {profiler.output}")
    return run


def _start_profiler(name: str, settings: BenchSettings, pid: int) -> Profiler | None:
    if settings.profile_dir is None:
        return None
    settings.profile_dir.mkdir(parents=True, exist_ok=True)
    return Profiler(pid, settings.profile_dir / f"{name}.folded")


class _Driver:
    """Runs the scenarios of one target through the load generator, one at a time."""

    def __init__(
        self,
        run: TargetRun,
        settings: BenchSettings,
        loadgen: LoadGenerator,
        address: str,
        progress: Progress,
    ) -> None:
        self._run, self._settings, self._loadgen = run, settings, loadgen
        self._address, self._progress = address, progress
        # The transport answer depends only on payload sizes: models of one shape share it.
        self._by_payload: dict[tuple[object, ...], LoadResult] = {}

    def measure(self, scenario: Scenario, shape: ModelShape, metrics_port: int) -> None:
        key = (scenario.method, scenario.items, scenario.concurrency, *_dims(shape))
        if self._run.name == "transport" and key in self._by_payload:
            self._run.results[scenario] = self._by_payload[key]
            return
        s = self._settings
        channels = s.load_channels()
        job = LoadJob(self._address, scenario, shape, s.duration_s, s.warmup_s, channels)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        scraped = self._run.name.startswith("vaeserve")
        before = scrape_batch_tally(metrics_url) if scraped else None
        result = self._loadgen.run(job)
        after = scrape_batch_tally(metrics_url) if before is not None else None
        if before is not None and after is not None:
            self._run.mean_batch[scenario] = after.mean_since(before)
        self._run.results[scenario] = self._by_payload[key] = result
        self._progress(_progress_line(self._run.name, scenario, result))


def _dims(shape: ModelShape) -> tuple[int, int, int, int]:
    return (shape.latent_dim, shape.channels, shape.height, shape.width)


def _progress_line(target: str, scenario: Scenario, result: LoadResult) -> str:
    errors = f", errors {dict(result.errors)}" if result.errors else ""
    return (
        f"{target}: {scenario.model} {scenario.method} items={scenario.items} "
        f"c={scenario.concurrency}: {result.requests_per_s:.0f} req/s, "
        f"{result.items_per_s:.0f} items/s, p50 {result.p50_ms:.2f} ms{errors}"
    )


def run_benchmark(settings: BenchSettings, log_dir: Path, progress: Progress) -> BenchRun:
    """Measure everything ``settings`` asks for and return the raw numbers."""
    started = time.perf_counter()
    models = [find_model(settings.repository, name) for name in settings.models]
    shapes = {m.shape.name: m.shape for m in models}
    progress("in-process onnxruntime: timing every graph at every batch size")
    ort_points = measure_models(
        models, settings.all_ort_batch_sizes(), settings.ort_seconds, settings.ort_threads
    )
    targets: dict[str, TargetRun] = {}
    with LoadGenerator() as loadgen:
        for name in settings.targets:
            targets[name] = _run_target(name, settings, shapes, loadgen, log_dir, progress)
    return BenchRun(
        settings=settings,
        shapes=shapes,
        ort=ort_points,
        targets=targets,
        environment=environment(),
        wall_s=time.perf_counter() - started,
    )
