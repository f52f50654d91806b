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
    from vaeserve.bench.config import BenchSettings, Scenario
    from vaeserve.bench.fairness import FairnessSettings, Variant

DESCRIPTION = (
    "Start vaeserve on loopback (batching on, then off), a naive one-call-per-request server "
    "and a no-compute transport server, drive each with a closed-loop gRPC load generator in "
    "another process, time the same models in process with onnxruntime, and write a markdown "
    "report of throughput, latency and every ratio against the limit. Takes several minutes "
    "with the defaults; --quick takes seconds."
)
# Rounds of the --workers comparison unless --rounds says otherwise.
WORKERS_ROUNDS = 3
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

# The fairness scenario's windows: longer than the grid's, since a 1,024-item conv Decode
# takes a tenth of a second and the light client's p99 needs thousands of calls.
FAIRNESS_FULL = {"duration": 3.0, "warmup": 0.5, "overlap": 0.5, "rounds": 3}
FAIRNESS_QUICK = {"duration": 0.25, "warmup": 0.1, "overlap": 0.1, "rounds": 1}
# Variants compared by default: the scheduling before issue 13 and the fair share.
FAIRNESS_VARIANTS = ("before=--no-fair-share", "fair-share=")


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
    add(
        "--channels",
        type=int,
        default=1,
        help="gRPC channels of the load generator; at least 4 per worker against a server "
        "with --workers",
    )
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
        default=None,
        help="where to write the markdown report (default: reports/benchmark.md, with "
        "--fairness reports/fairness.md); the raw numbers go beside it, as .json",
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
        "--workers",
        default=None,
        help="compare `vaeserve serve --workers` counts instead of the targets, e.g. 1,2, in "
        "alternating rounds; the report goes to reports/workers.md unless --output is given",
    )
    add(
        "--quick",
        action="store_true",
        help="a seconds-long smoke run: short windows, concurrency 1,4, items 1,8",
    )
    _add_fairness_flags(parser)
    parser.set_defaults(func=run)


def _add_fairness_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "fairness",
        "--fairness measures a light client alone, the heavy clients alone, and the light "
        "client beside them, against one server per variant, in alternating rounds "
        "(bench/fairness.py). --model-repository, --duration, --warmup, --server-args, "
        "--channels, --startup-timeout, --output and --quick apply; the grid flags do not.",
    )
    add = group.add_argument
    add("--fairness", action="store_true", help="run the fairness scenario instead of the grid")
    add(
        "--light",
        default="fashion-mnist:Decode:1:4",
        help="the light client as MODEL:METHOD:ITEMS:CONCURRENCY (default: %(default)s)",
    )
    add(
        "--heavy",
        default="fashion-mnist-conv:Decode:1024:1",
        help="each heavy client as MODEL:METHOD:ITEMS:CONCURRENCY (default: %(default)s)",
    )
    add(
        "--heavy-clients",
        default="1,2",
        help="numbers of heavy clients to measure (default: %(default)s)",
    )
    add(
        "--variant",
        action="append",
        default=None,
        metavar="NAME=FLAGS",
        help="a server variant to compare, e.g. --variant 'fifo=--fair-share off' "
        f"(repeatable; default: {' and '.join(FAIRNESS_VARIANTS)})",
    )
    add(
        "--rounds",
        type=int,
        default=None,
        help=f"rounds per variant (default: {FAIRNESS_FULL['rounds']}), or per worker count "
        f"with --workers (default: {WORKERS_ROUNDS})",
    )


def _pick_fairness(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name)
    if value is not None:
        return value
    return (FAIRNESS_QUICK if args.quick else FAIRNESS_FULL)[name]


def _scenario_spec(text: str) -> Scenario:
    from vaeserve.bench.config import METHODS, Scenario

    parts = text.split(":")
    if len(parts) != 4 or parts[1] not in METHODS:
        raise ValueError(
            f"expected MODEL:METHOD:ITEMS:CONCURRENCY with METHOD in {METHODS}, got {text!r}"
        )
    items, concurrency = _counts(f"{parts[2]},{parts[3]}")
    return Scenario(parts[0], parts[1], items, concurrency)


def _variant_spec(text: str) -> Variant:
    from vaeserve.bench.fairness import Variant

    name, sep, flags = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected NAME=FLAGS for --variant, got {text!r}")
    return Variant(name.strip(), tuple(shlex.split(flags)))


def build_fairness_settings(args: argparse.Namespace) -> FairnessSettings:
    from vaeserve.bench.fairness import FairnessSettings

    variants = tuple(_variant_spec(v) for v in (args.variant or FAIRNESS_VARIANTS))
    if len({v.name for v in variants}) != len(variants):
        raise ValueError("every --variant needs its own name")
    rounds = int(_pick_fairness(args, "rounds"))
    if rounds < 1:
        raise ValueError("--rounds must be at least 1")
    return FairnessSettings(
        repository=args.model_repository or embedded_repository(),
        output=args.output or Path("reports/fairness.md"),
        light=_scenario_spec(args.light),
        heavy=_scenario_spec(args.heavy),
        heavy_clients=_counts(args.heavy_clients),
        variants=variants,
        rounds=rounds,
        duration_s=float(_pick_fairness(args, "duration")),
        warmup_s=float(_pick_fairness(args, "warmup")),
        overlap_s=float((FAIRNESS_QUICK if args.quick else FAIRNESS_FULL)["overlap"]),
        server_args=tuple(shlex.split(args.server_args)),
        channels=args.channels,
        startup_timeout_s=args.startup_timeout,
    )


def fairness_command_line(settings: FairnessSettings) -> str:
    """The flags that repeat this fairness run, spelled out for the report."""

    def spec(s: Scenario) -> str:
        return f"{s.model}:{s.method}:{s.items}:{s.concurrency}"

    parts = [
        "vaeserve bench --fairness",
        f"--model-repository {shlex.quote(str(settings.repository))}",
        f"--light {spec(settings.light)} --heavy {spec(settings.heavy)}",
        f"--heavy-clients {','.join(map(str, settings.heavy_clients))}",
        *(
            f"--variant {shlex.quote(v.name + '=' + shlex.join(v.server_args))}"
            for v in settings.variants
        ),
        f"--rounds {settings.rounds} --duration {settings.duration_s:g}",
        f"--warmup {settings.warmup_s:g} --channels {settings.channels}",
    ]
    if settings.server_args:
        parts.append(f"--server-args={shlex.quote(shlex.join(settings.server_args))}")
    return " ".join(parts)


def run_fairness(args: argparse.Namespace) -> int:
    from vaeserve.bench.fairness import run_fairness as measure
    from vaeserve.bench.fairness_report import raw_json, render
    from vaeserve.bench.run import BENCH_ERRORS

    try:
        settings = build_fairness_settings(args)
    except (ValueError, argparse.ArgumentTypeError) as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="vaeserve-fairness-") as logs:
            found = measure(settings, Path(logs), lambda line: print(line, file=sys.stderr))
    except BENCH_ERRORS as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 1
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    notes = settings.output.with_suffix(".notes.md")
    text = render(
        found, fairness_command_line(settings), notes.read_text() if notes.exists() else ""
    )
    settings.output.write_text(text, encoding="utf-8")
    settings.output.with_suffix(".json").write_text(raw_json(found), encoding="utf-8")
    print(f"report written to {settings.output}")
    return 0


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
    workers = _counts(args.workers) if args.workers else ()
    rounds = WORKERS_ROUNDS if args.rounds is None else args.rounds
    if rounds < 1:
        raise ValueError("--rounds must be at least 1")
    default_output = Path("reports/workers.md" if workers else "reports/benchmark.md")
    return BenchSettings(
        repository=args.model_repository or embedded_repository(),
        output=args.output or default_output,
        workers=workers,
        rounds=rounds,
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
    if settings.workers:
        flags["--workers"] = joined(settings.workers)
        flags["--rounds"] = str(settings.rounds)
        del flags["--targets"], flags["--ort-batch-sizes"], flags["--ort-seconds"]
    return "vaeserve bench " + " ".join(f"{k} {shlex.quote(v)}" for k, v in flags.items())


def run(args: argparse.Namespace) -> int:
    if args.fairness:
        return run_fairness(args)
    from vaeserve.bench.report import raw_json, render
    from vaeserve.bench.run import BENCH_ERRORS, run_benchmark

    try:
        settings = build_settings(args)
    except (ValueError, argparse.ArgumentTypeError) as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 2
    if settings.workers:
        return _run_workers(settings)
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


def _run_workers(settings: BenchSettings) -> int:
    """``--workers``: the alternating-rounds comparison of worker counts, its own report."""
    from vaeserve.bench.run import BENCH_ERRORS
    from vaeserve.bench.workers import render_workers, run_workers_comparison

    try:
        with tempfile.TemporaryDirectory(prefix="vaeserve-bench-") as logs:
            compared = run_workers_comparison(
                settings, Path(logs), lambda line: print(line, file=sys.stderr)
            )
    except BENCH_ERRORS as error:
        print(f"vaeserve bench: {error}", file=sys.stderr)
        return 1
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(render_workers(compared, command_line(settings)), encoding="utf-8")
    print(f"report written to {settings.output}")
    return 0
