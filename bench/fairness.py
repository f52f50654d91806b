"""The fairness scenario: cheap calls beside clients that stream expensive ones.

A multi-model server is only as good as its worst neighbour. Here one *light* client (by
default one-item Decodes of ``fashion-mnist``, four at a time) is measured alone, the
*heavy* clients (by default 1,024-item Decodes of ``fashion-mnist-conv``, one at a time
each) are measured alone, one and two of them, and then the light client is measured beside
one and beside two heavy clients -- all against one ``vaeserve serve`` child process.

Every client is its own load generator process (:mod:`vaeserve.bench.loadgen`), so no two
clients share a GIL. When clients run together, the heavy ones start first and measure for
:data:`OVERLAP_S` longer, and the light one warms up :data:`OVERLAP_S` longer: the light
client's window lies inside the heavy clients' load, and the heavy clients' window is
covered by the light client's load (its warm-up sends calls too).

Mechanisms are compared A/B in one run: each *variant* is the same server started with
different flags, and the variants take turns, one server at a time, in alternating order
(A B, B A, A B, ...) so slow drift of a shared machine falls on both. The report gives the
median over the rounds of every number, and the goals of issue 13 against those medians.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.loadgen import LoadGenerator, LoadJob
from vaeserve.bench.models import find_model
from vaeserve.bench.processes import ServerProcess, free_port
from vaeserve.bench.stats import LoadResult, at_least, at_most, ratio

Progress = Callable[[str], None]
# Extra warm-up of the light client and extra window of the heavy ones when they run
# together, so that each one's measured window lies inside the other's load.
OVERLAP_S = 0.5
# Issue 13's goals, with two heavy clients: the light client keeps this share of its alone
# throughput, and a p99 within this factor of its alone p99; the heavy clients keep this
# share of their alone items/s.
MIN_LIGHT_SHARE = 1 / 3
MAX_LIGHT_P99_FACTOR = 4.0
MIN_HEAVY_SHARE = 0.5

DEFAULT_LIGHT = Scenario("fashion-mnist", "Decode", 1, 4)
DEFAULT_HEAVY = Scenario("fashion-mnist-conv", "Decode", 1024, 1)


@dataclass(frozen=True)
class Variant:
    """One way of starting the server: a name for the report and its extra flags."""

    name: str
    server_args: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class Phase:
    """Who loads the server at once: the light client or not, and how many heavy ones."""

    light: bool
    heavy: int

    @property
    def title(self) -> str:
        if not self.light:
            return f"{self.heavy} heavy alone"
        return "light alone" if self.heavy == 0 else f"light + {self.heavy} heavy"


@dataclass(frozen=True)
class FairnessSettings:
    """Every knob of a fairness run; ``vaeserve bench --fairness`` fills it from flags."""

    repository: Path
    output: Path
    light: Scenario = DEFAULT_LIGHT
    heavy: Scenario = DEFAULT_HEAVY
    heavy_clients: tuple[int, ...] = (1, 2)
    variants: tuple[Variant, ...] = (Variant("default"),)
    rounds: int = 3
    duration_s: float = 3.0
    warmup_s: float = 0.5
    overlap_s: float = OVERLAP_S
    # Flags every variant's server gets (before the variant's own).
    server_args: tuple[str, ...] = ()
    channels: int = 1
    startup_timeout_s: float = 120.0

    def phases(self) -> list[Phase]:
        """Alone first (light, then each heavy count), then the light client beside each."""
        return [
            Phase(True, 0),
            *(Phase(False, n) for n in self.heavy_clients),
            *(Phase(True, n) for n in self.heavy_clients),
        ]

    def order(self, round_number: int) -> tuple[Variant, ...]:
        """Variants in the order they run in a round: reversed every other round."""
        return self.variants if round_number % 2 == 0 else self.variants[::-1]


@dataclass(frozen=True)
class PhaseResult:
    """What each client got in one phase: the light client's result and each heavy one's."""

    light: LoadResult | None
    heavy: tuple[LoadResult, ...] = ()

    @property
    def heavy_items_per_s(self) -> float:
        """All heavy clients together (NaN when none ran)."""
        return sum(r.items_per_s for r in self.heavy) if self.heavy else float("nan")

    @property
    def heavy_p99_ms(self) -> float:
        return max(r.p99_ms for r in self.heavy) if self.heavy else float("nan")


@dataclass
class RoundResult:
    """One variant's server in one round: every phase, and the machine's load beforehand."""

    variant: str
    round_number: int
    load_average: float
    phases: dict[Phase, PhaseResult] = field(default_factory=dict)


@dataclass
class FairnessRun:
    settings: FairnessSettings
    rounds: list[RoundResult]
    environment: dict[str, str]
    wall_s: float

    def of(self, variant: str) -> list[RoundResult]:
        return [r for r in self.rounds if r.variant == variant]


@dataclass(frozen=True)
class Summary:
    """Medians over the rounds of one variant in one phase."""

    light_calls_per_s: float
    light_p50_ms: float
    light_p99_ms: float
    heavy_items_per_s: float
    heavy_p99_ms: float
    errors: int


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise_phase(rounds: Sequence[RoundResult], phase: Phase) -> Summary:
    results = [r.phases[phase] for r in rounds if phase in r.phases]
    lights = [p.light for p in results if p.light is not None]
    heavies = [p for p in results if p.heavy]
    errors = sum(
        sum(r.errors.values()) for p in results for r in (*p.heavy, *([p.light] if p.light else []))
    )
    return Summary(
        light_calls_per_s=_median([r.requests_per_s for r in lights]),
        light_p50_ms=_median([r.p50_ms for r in lights]),
        light_p99_ms=_median([r.p99_ms for r in lights]),
        heavy_items_per_s=_median([p.heavy_items_per_s for p in heavies]),
        heavy_p99_ms=_median([p.heavy_p99_ms for p in heavies]),
        errors=errors,
    )


@dataclass(frozen=True)
class FairnessVerdict:
    variant: str
    goal: str
    measured: float
    bound: str
    met: bool | None


def verdicts(run: FairnessRun) -> list[FairnessVerdict]:
    """Issue 13's three goals for each variant and each number of heavy clients."""
    found = []
    for variant in run.settings.variants:
        rounds = run.of(variant.name)
        alone = summarise_phase(rounds, Phase(True, 0))
        for n in run.settings.heavy_clients:
            beside = summarise_phase(rounds, Phase(True, n))
            heavy_alone = summarise_phase(rounds, Phase(False, n))
            share = ratio(beside.light_calls_per_s, alone.light_calls_per_s)
            p99 = ratio(beside.light_p99_ms, alone.light_p99_ms)
            heavy = ratio(beside.heavy_items_per_s, heavy_alone.heavy_items_per_s)
            found += [
                FairnessVerdict(
                    variant.name,
                    f"light calls/s beside {n} heavy / alone",
                    share,
                    f">= {MIN_LIGHT_SHARE:.2f}",
                    at_least(share, MIN_LIGHT_SHARE),
                ),
                FairnessVerdict(
                    variant.name,
                    f"light p99 beside {n} heavy / alone",
                    p99,
                    f"<= {MAX_LIGHT_P99_FACTOR:g}",
                    at_most(p99, MAX_LIGHT_P99_FACTOR),
                ),
                FairnessVerdict(
                    variant.name,
                    f"{n} heavy items/s beside light / alone",
                    heavy,
                    f">= {MIN_HEAVY_SHARE:g}",
                    at_least(heavy, MIN_HEAVY_SHARE),
                ),
            ]
    return found


def server_command(
    settings: FairnessSettings, variant: Variant, port: int, metrics_port: int
) -> list[str]:
    import sys

    return [
        *(sys.executable, "-m", "vaeserve", "--log-level", "WARNING", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--metrics-port", str(metrics_port)),
        *("--http-port", "-1", "--model-repository", str(settings.repository)),
        *settings.server_args,
        *variant.server_args,
    ]


class _Clients:
    """One load generator process per client: the light one and each heavy one."""

    def __init__(self, heavy: int) -> None:
        self.light = LoadGenerator()
        self.heavy = [LoadGenerator() for _ in range(heavy)]

    def close(self) -> None:
        for generator in (self.light, *self.heavy):
            generator.close()


def measure_phase(
    settings: FairnessSettings,
    clients: _Clients,
    address: str,
    shapes: dict[str, ModelShape],
    phase: Phase,
) -> PhaseResult:
    """Run the phase's clients at once, each in its own process, and collect their results."""
    s = settings
    together = phase.light and phase.heavy > 0
    overlap = s.overlap_s if together else 0.0
    heavy_jobs = [
        (
            clients.heavy[i],
            LoadJob(
                address,
                s.heavy,
                shapes[s.heavy.model],
                s.duration_s + overlap,
                s.warmup_s,
                s.channels,
            ),
        )
        for i in range(phase.heavy)
    ]
    jobs = list(heavy_jobs)
    if phase.light:
        light_job = LoadJob(
            address, s.light, shapes[s.light.model], s.duration_s, s.warmup_s + overlap, s.channels
        )
        jobs.append((clients.light, light_job))
    for generator, job in jobs:
        generator.send(job)
    results = [generator.receive(job) for generator, job in jobs]
    light = results.pop() if phase.light else None
    return PhaseResult(light, tuple(results))


def _round(
    settings: FairnessSettings,
    variant: Variant,
    round_number: int,
    clients: _Clients,
    shapes: dict[str, ModelShape],
    log_dir: Path,
    progress: Progress,
) -> RoundResult:
    port, metrics_port = free_port(), free_port()
    command = server_command(settings, variant, port, metrics_port)
    log_path = log_dir / f"{variant.name}-{round_number}.log"
    result = RoundResult(variant.name, round_number, os.getloadavg()[0])
    with ServerProcess(command, f"127.0.0.1:{port}", log_path) as server:
        server.wait_serving(settings.startup_timeout_s)
        for phase in settings.phases():
            found = measure_phase(settings, clients, server.address, shapes, phase)
            result.phases[phase] = found
            progress(_progress_line(variant.name, round_number, phase, found))
    return result


def _progress_line(variant: str, round_number: int, phase: Phase, found: PhaseResult) -> str:
    parts = [f"fairness round {round_number + 1} {variant}: {phase.title}:"]
    if found.light is not None:
        parts.append(
            f"light {found.light.requests_per_s:.0f} calls/s p99 {found.light.p99_ms:.1f} ms"
        )
    if found.heavy:
        parts.append(f"heavy {found.heavy_items_per_s:.0f} items/s")
    return " ".join(parts)


def run_fairness(settings: FairnessSettings, log_dir: Path, progress: Progress) -> FairnessRun:
    """Every round of every variant, alternating, one server alive at a time."""
    from vaeserve.bench.run import environment

    started = time.perf_counter()
    models = {name: find_model(settings.repository, name) for name in _model_names(settings)}
    shapes = {name: model.shape for name, model in models.items()}
    clients = _Clients(max(settings.heavy_clients, default=0))
    rounds = []
    try:
        for number in range(settings.rounds):
            for variant in settings.order(number):
                rounds.append(_round(settings, variant, number, clients, shapes, log_dir, progress))
    finally:
        clients.close()
    return FairnessRun(settings, rounds, environment(), time.perf_counter() - started)


def _model_names(settings: FairnessSettings) -> list[str]:
    return sorted({settings.light.model, settings.heavy.model})
