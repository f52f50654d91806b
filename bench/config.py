"""What one benchmark run measures: the settings, built once by ``vaeserve bench``.

The benchmark is a grid -- model x method x items per request x concurrency -- driven
against four targets that answer the same RPCs, so that every vaeserve number has a
yardstick beside it measured in the same run on the same machine:

- ``vaeserve``           the real server, dynamic batching on (its defaults);
- ``vaeserve-unbatched`` the same server with batching turned off;
- ``naive``              one onnxruntime call per request, no validation, no metrics;
- ``transport``          answers with a ready payload of the right size, computes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

METHODS = ("Decode", "Sample", "Encode")
TARGETS = ("vaeserve", "vaeserve-unbatched", "naive", "transport")
DEFAULT_MODELS = ("fashion-mnist", "fashion-mnist-conv")
DEFAULT_ITEMS = (1, 256)
DEFAULT_CONCURRENCY = (1, 16, 64)
DEFAULT_ORT_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


CHANNELS_PER_WORKER = 4


def _workers_flag(server_args: tuple[str, ...]) -> int:
    """The ``--workers`` count among a server's flags; 1 when absent."""
    value = "1"
    for i, arg in enumerate(server_args):
        if arg == "--workers" and i + 1 < len(server_args):
            value = server_args[i + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
    if value == "auto":
        return len(os.sched_getaffinity(0))
    return int(value) if value.isdigit() else 1


@dataclass(frozen=True)
class ModelShape:
    """The sizes a load generator needs to build requests for one model."""

    name: str
    latent_dim: int
    channels: int
    height: int
    width: int

    @property
    def image_floats(self) -> int:
        return self.channels * self.height * self.width


@dataclass(frozen=True, order=True)
class Scenario:
    """One cell of the grid; the same scenario is run against every target."""

    model: str
    method: str
    items: int
    concurrency: int


@dataclass(frozen=True)
class BenchSettings:
    """Every knob of a run. ``vaeserve bench`` fills it from flags; tests pass values in."""

    repository: Path
    output: Path
    models: tuple[str, ...] = DEFAULT_MODELS
    methods: tuple[str, ...] = METHODS
    items: tuple[int, ...] = DEFAULT_ITEMS
    concurrency: tuple[int, ...] = DEFAULT_CONCURRENCY
    targets: tuple[str, ...] = TARGETS
    # Seconds each scenario is measured for, after its warm-up.
    duration_s: float = 1.5
    # Seconds of load before measuring; the warm-up also lasts until every worker has had
    # one answer, so slow scenarios start measuring in a steady state.
    warmup_s: float = 0.3
    # Batch sizes of the in-process onnxruntime measurement (the compute limit).
    ort_batch_sizes: tuple[int, ...] = DEFAULT_ORT_BATCH_SIZES
    # Seconds each in-process batch size is timed for.
    ort_seconds: float = 0.3
    # onnxruntime intra-op threads for the in-process measurement and the naive server;
    # 0 lets onnxruntime choose, as the server does unless told otherwise.
    ort_threads: int = 0
    # gRPC channels the load generator spreads its workers over.
    channels: int = 1
    # Extra flags for every `vaeserve serve` the benchmark starts.
    server_args: tuple[str, ...] = ()
    # The flags that turn batching off, for the ``vaeserve-unbatched`` target.
    unbatched_args: tuple[str, ...] = ("--no-batching",)
    # Seconds a server may take from process start to SERVING before the run gives up.
    startup_timeout_s: float = 120.0
    # Where py-spy profiles of every target go; None: no profiling.
    profile_dir: Path | None = None
    # Worker counts (`vaeserve serve --workers`) to compare instead of the targets; empty:
    # the usual run. Measured in alternating rounds (vaeserve.bench.workers).
    workers: tuple[int, ...] = ()
    # Rounds of that comparison.
    rounds: int = 3

    def load_channels(self, workers: int = 1) -> int:
        """Channels of the load generator against a server of ``workers`` processes: at
        least CHANNELS_PER_WORKER per worker, each its own connection, since the kernel
        spreads connections, not calls, over the workers. ``workers`` defaults to what
        ``--workers`` in ``server_args`` says (``auto``: this machine's CPUs)."""
        if workers == 1:
            workers = _workers_flag(self.server_args)
        return self.channels if workers <= 1 else max(self.channels, CHANNELS_PER_WORKER * workers)

    def scenarios(self) -> list[Scenario]:
        return [
            Scenario(model, method, items, concurrency)
            for model in self.models
            for method in self.methods
            for items in self.items
            for concurrency in self.concurrency
        ]

    def all_ort_batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes to time: the asked ones plus every request size of the grid."""
        return tuple(sorted(set(self.ort_batch_sizes) | set(self.items)))
