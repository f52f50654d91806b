"""``vaeserve bench``: measure the server against the limit of this machine, write a report.

Nothing heavy is imported here; :func:`run` imports the benchmark (grpc, onnxruntime) only
when the command runs. The benchmark needs the serving install alone -- no torch, no dev
tools -- so it can run on the machine that serves.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaeserve.bench.config import BenchSettings

DESCRIPTION = (
    "Start vaeserve on loopback (batching on, then off), a naive one-call-per-request server "
    "and a no-compute transport server, drive each with a closed-loop gRPC load generator in "
    "another process, time the same models in process with onnxruntime, and write a markdown "
    "report of throughput, latency and every ratio against the limit. Takes several minutes "
    "with the defaults; --quick takes seconds."
)
# What --quick shrinks, unless a flag sets it explicitly.
QUICK = {
    "duration": 0.25,
    "warmup": 0.1,
    "concurrency": "1,4",
    "items": "1,8",
    "ort_batch_sizes": "1,8",
    "ort_seconds": 0.05,
}
FULL = {
    "duration": 1.5,
    "warmup": 0.3,
    "concurrency": "1,16,64",
    "items": "1,256",
    "ort_batch_sizes": "1,2,4,8,16,32,64,128,256",
    "ort_seconds": 0.3,
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in _names(text))
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return counts


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmark the server against the limit", description=DESCRIPTION
    )
    add = parser.add_argument
    add(
        "--model-repository",
        type=Path,
        default=None,
        help="model repository to serve and time (default: the embedded models)",
    )
    add(
        "--models",
        default="fashion-mnist,fashion-mnist-conv",
        help="comma-separated models to drive (default: %(default)s)",
    )
    add("--methods", default="Decode,Sample,Encode", help="RPCs to drive (default: %(default)s)")
    add("--items", default=None, help=f"items per request (default: {FULL['items']})")
    add(
        "--concurrency",
        default=None,
        help=f"concurrent callers per scenario (default: {FULL['concurrency']})",
    )
    add(
        "--targets",
        default="vaeserve,vaeserve-unbatched,naive,transport",
        help="what to measure, in this order (default: %(default)s)",
    )
    add(
        "--duration",
        type=float,
        default=None,
        help=f"seconds measured per scenario (default: {FULL['duration']})",
    )
    add(
        "--warmup",
        type=float,
        default=None,
        help=f"seconds of load before measuring (default: {FULL['warmup']})",
    )
    add(
        "--ort-batch-sizes",
        default=None,
        help=f"in-process onnxruntime batch sizes (default: {FULL['ort_batch_sizes']})",
    )
    add(
        "--ort-seconds",
        type=float,
        default=None,
        help=f"seconds per in-process batch size (default: {FULL['ort_seconds']})",
    )
    add(
        "--ort-threads",
        type=int,
        default=0,
        help="onnxruntime intra-op threads in process and in the naive server (0: its choice)",
    )
    add("--channels", type=int, default=1, help="gRPC channels of the load generator")
    add(
        "--server-args",
        default="",
        help="extra flags for every `vaeserve serve` started, as one string; write it with "
        "'=' when it starts with a dash: --server-args='--max-queue-size 16384'",
    )
    add(
        "--unbatched-args",
        default="--no-batching",
        help="flags that turn the server's batching off, written with '=' (default: %(default)s)",
    )
    add(
        "--startup-timeout",
        type=float,
        default=120.0,
        help="seconds a server may take to become SERVING",
    )
    add(
        "--output",
        type=Path,
        default=Path("reports/benchmark.md"),
        help="where to write the markdown report (default: %(default)s); the raw numbers go "
        "beside it, as .json",
    )
    add(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample every server process with py-spy under load; collapsed stacks go to "
        "DIR and the hottest functions into the report",
    )
    add(
        "--quick",
        action="store_true",
        help="a seconds-long smoke run: short windows, concurrency 1,4, items 1,8",
    )
    parser.set_defaults(func=run)


def _pick(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name)
    if value is not None:
        return value
    return (QUICK if args.quick else FULL)[name]


def embedded_repository() -> Path:
    import vaeserve.models

    return Path(vaeserve.models.__file__).parent


def build_settings(args: argparse.Namespace) -> BenchSettings:
    from vaeserve.bench.config import METHODS, TARGETS, BenchSettings

    methods, targets = _names(args.methods), _names(args.targets)
    unknown = sorted((set(methods) - set(METHODS)) | (set(targets) - set(TARGETS)))
    if unknown:
        raise ValueError(f"unknown method or target {unknown}: choose from {METHODS} and {TARGETS}")
    return BenchSettings(
        repository=args.model_repository or embedded_repository(),
        output=args.output,
        models=_names(args.models),
        methods=methods,
        targets=targets,
        items=_counts(_pick(args, "items")),
        concurrency=_counts(_pick(args, "concurrency")),
        duration_s=float(_pick(args, "duration")),
        warmup_s=float(_pick(args, "warmup")),
        ort_batch_sizes=_counts(_pick(args, "ort_batch_sizes")),
        ort_seconds=float(_pick(args, "ort_seconds")),
        ort_threads=args.ort_threads,
        channels=args.channels,
        server_args=tuple(shlex.split(args.server_args)),
        unbatched_args=tuple(shlex.split(args.unbatched_args)),
        startup_timeout_s=args.startup_timeout,
        profile_dir=args.profile,
    )


def command_line(settings: BenchSettings) -> str:
    """The flags that repeat this run's measurements, spelled out for the report."""

    def joined(values: tuple[object, ...]) -> str:
        return ",".join(map(str, values))

    flags = {
        "--model-repository": str(settings.repository),
        "--models": joined(settings.models),
        "--methods": joined(settings.methods),
        "--items": joined(settings.items),
        "--concurrency": joined(settings.concurrency),
        "--targets": joined(settings.targets),
        "--duration": f"{settings.duration_s:g}",
        "--warmup": f"{settings.warmup_s:g}",
        "--ort-batch-sizes": joined(settings.ort_batch_sizes),
        "--ort-seconds": f"{settings.ort_seconds:g}",
        "--ort-threads": str(settings.ort_threads),
        "--channels": str(settings.channels),
        "--server-args": shlex.join(settings.server_args),
        "--unbatched-args": shlex.join(settings.unbatched_args),
    }
    if settings.profile_dir is not None:
        flags["--profile"] = str(settings.profile_dir)
    return "vaeserve bench " + " ".join(f"{k} {shlex.quote(v)}" for k, v in flags.items())


def run(args: argparse.Namespace) -> int:
    from vaeserve.bench.report import raw_json, render
    from vaeserve.bench.run import BENCH_ERRORS, run_benchmark

    try:
        settings = build_settings(args)
    except (ValueError, argparse.ArgumentTypeError) as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="vaeserve-bench-") as logs:
            bench = run_benchmark(settings, Path(logs), lambda line: print(line, file=sys.stderr))
    except BENCH_ERRORS as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 1
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(render(bench, command_line(settings)), encoding="utf-8")
    settings.output.with_suffix(".json").write_text(raw_json(bench), encoding="utf-8")
    print(f"report written to {settings.output}")
    return 0
