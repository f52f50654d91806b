"""``vaeserve bench-http``: HTTP/JSON against gRPC on the same server, in one run.

One ``vaeserve serve`` listens on both ports; one load generator process
(:mod:`vaeserve.bench.http_load`) drives Decode of 1 and of 256 latents at each
concurrency, over gRPC and over HTTP in alternating rounds (gRPC first in even rounds, HTTP
first in odd ones), so drift on a shared machine falls on both alike. The report gives the
median over rounds of items/s, p50 and p99 for each, the HTTP/gRPC ratios, and the two
goals: at 256 items HTTP reaches at least half of gRPC's items/s; at 1 item its p50 is
within 2x of gRPC's. Run it under ``flock /tmp/vaeserve-bench.lock``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROTOCOLS = ("grpc", "http")
DEFAULT_OUTPUT = Path("reports/http.md")


@dataclass(frozen=True)
class Scenario:
    items: int
    concurrency: int


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench-http",
        help="benchmark HTTP/JSON against gRPC on one server",
        description=__doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else None,
    )
    add = parser.add_argument
    add("--model-repository", type=Path, default=None, help="default: the embedded models")
    add("--model", default="fashion-mnist", help="model to decode with (default: %(default)s)")
    add("--items", default="1,256", help="latents per request (default: %(default)s)")
    add("--concurrency", default="1,64", help="concurrent callers (default: %(default)s)")
    add("--rounds", type=int, default=5, help="alternating rounds per scenario (default: 5)")
    add("--duration", type=float, default=2.0, help="measured seconds per window")
    add("--warmup", type=float, default=0.5, help="seconds of load before each window")
    add("--server-args", default="", help="extra `vaeserve serve` flags, as one string")
    add("--output", type=Path, default=DEFAULT_OUTPUT, help="report (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shlex

    from vaeserve.bench.cli import embedded_repository

    scenarios = [
        Scenario(items, concurrency)
        for items in _counts(args.items)
        for concurrency in _counts(args.concurrency)
    ]
    repository = args.model_repository or embedded_repository()
    with tempfile.TemporaryDirectory(prefix="vaeserve-bench-http-") as logs:
        results = measure_all(
            repository, args.model, scenarios, args, shlex.split(args.server_args), Path(logs)
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(results, args, scenarios), encoding="utf-8")
    raw = {f"{s.items}x{s.concurrency}": rounds for s, rounds in results.items()}
    args.output.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    print(f"report written to {args.output}")
    return 0


def measure_all(
    repository: Path,
    model: str,
    scenarios: list[Scenario],
    args: argparse.Namespace,
    server_args: list[str],
    logs: Path,
) -> dict[Scenario, dict[str, list[dict[str, Any]]]]:
    """Every scenario's rounds: protocol -> one LoadResult dict per round."""
    from vaeserve.bench.models import find_model
    from vaeserve.bench.processes import ServerProcess, free_port

    latent_dim = find_model(repository, model).shape.latent_dim
    port, http_port = free_port(), free_port()
    command = [
        *(sys.executable, "-m", "vaeserve", "--log-level", "WARNING", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--http-port", str(http_port)),
        *("--metrics-port", "-1", "--model-repository", str(repository), *server_args),
    ]
    results: dict[Scenario, dict[str, list[dict[str, Any]]]] = {}
    with ServerProcess(command, f"127.0.0.1:{port}", logs / "server.log") as server:
        server.wait_serving(120.0)
        worker = subprocess.Popen(
            [sys.executable, "-m", "vaeserve.bench.http_load"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            for scenario in scenarios:
                rounds: dict[str, list[dict[str, Any]]] = {p: [] for p in PROTOCOLS}
                for index in range(args.rounds):
                    order = PROTOCOLS if index % 2 == 0 else PROTOCOLS[::-1]
                    for protocol in order:
                        job = {
                            "protocol": protocol, "model": model, "latent_dim": latent_dim,
                            "items": scenario.items, "concurrency": scenario.concurrency,
                            "duration_s": args.duration, "warmup_s": args.warmup,
                            "grpc_address": f"127.0.0.1:{port}",
                            "http_url": f"http://127.0.0.1:{http_port}",
                        }  # fmt: skip
                        rounds[protocol].append(_ask(worker, job))
                        print(f"{scenario} round {index} {protocol}: {rounds[protocol][-1]}",
                              file=sys.stderr)  # fmt: skip
                results[scenario] = rounds
        finally:
            assert worker.stdin is not None
            worker.stdin.close()
            worker.wait(30)
    return results


def _ask(worker: subprocess.Popen[str], job: dict[str, Any]) -> dict[str, Any]:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(json.dumps(job) + "\n")
    worker.stdin.flush()
    answer: dict[str, Any] = json.loads(worker.stdout.readline())
    if "error" in answer:
        raise RuntimeError(f"load generator: {answer['error']}")
    return answer


def medians(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """Median over rounds of items/s, p50 and p99."""
    return {
        "items_per_s": statistics.median(r["items"] / r["seconds"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "errors": sum(sum(r["errors"].values()) for r in rounds),
    }


def render(
    results: dict[Scenario, dict[str, list[dict[str, Any]]]],
    args: argparse.Namespace,
    scenarios: list[Scenario],
) -> str:
    lines = [
        "# HTTP/JSON against gRPC on one server",
        "",
        f"Written by `vaeserve bench-http` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: Decode of "
        f"`{args.model}` on one `vaeserve serve` listening on both ports, {args.rounds} "
        f"alternating rounds per scenario ({args.warmup:g} s warm-up, {args.duration:g} s "
        "measured), one closed-loop load generator process for both protocols; every figure "
        "is the median over rounds. Machine: "
        f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}.",
        "",
        "| items | callers | gRPC items/s | HTTP items/s | HTTP/gRPC | gRPC p50 ms | HTTP p50 ms "
        "| p50 HTTP/gRPC | gRPC p99 ms | HTTP p99 ms | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for scenario in scenarios:
        grpc_m, http_m = (medians(results[scenario][p]) for p in PROTOCOLS)
        throughput = http_m["items_per_s"] / grpc_m["items_per_s"]
        latency = http_m["p50_ms"] / grpc_m["p50_ms"]
        lines.append(
            f"| {scenario.items} | {scenario.concurrency} | {grpc_m['items_per_s']:,.0f} "
            f"| {http_m['items_per_s']:,.0f} | {throughput:.2f} | {grpc_m['p50_ms']:.2f} "
            f"| {http_m['p50_ms']:.2f} | {latency:.2f} | {grpc_m['p99_ms']:.2f} "
            f"| {http_m['p99_ms']:.2f} | {grpc_m['errors'] + http_m['errors']:.0f} |"
        )
        if scenario.items >= 256:
            verdicts.append(
                f"- {scenario.items} items, {scenario.concurrency} callers: HTTP reaches "
                f"{throughput:.2f} of gRPC's items/s (goal: at least 0.5): "
                f"{'met' if throughput >= 0.5 else 'NOT met'}."
            )
        if scenario.items == 1:
            verdicts.append(
                f"- 1 item, {scenario.concurrency} callers: HTTP's p50 is {latency:.2f}x "
                f"gRPC's (goal: within 2x): {'met' if latency <= 2 else 'NOT met'}."
            )
    lines += [
        "",
        "Both protocols go through the same Python client process, which shares the cores "
        "with the server, so what a protocol costs the client counts here too; absolute "
        "figures depend on that client and on how busy the machine was (compare the ratios, "
        "taken in the same rounds, not the absolute numbers with reports/benchmark.md).",
    ]
    lines += ["", "## Goals", "", *verdicts, ""]
    lines += [
        "Repeat: `flock /tmp/vaeserve-bench.lock vaeserve bench-http "
        f"--model {args.model} --items {args.items} --concurrency {args.concurrency} "
        f"--rounds {args.rounds} --duration {args.duration:g} --warmup {args.warmup:g}`. "
        "The raw rounds are in the .json beside this file.",
        "",
    ]
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
