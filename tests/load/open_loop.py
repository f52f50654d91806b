"""An open-loop load driver: requests leave on a fixed schedule, whatever the replies do.

A closed loop (``vaeserve bench``, Locust users) sends the next call only when the last
one answered, so an overloaded server slows its own clients down and the latency they
report hides the queue (coordinated omission). Here call ``i`` is due at ``start + i/rate``
and is sent then, or as soon as the client catches up; its latency counts from when it was
due. Alongside, once per interval, it samples the server's resident memory and its health.

Run it by hand against any server (the report's commands use it)::

    python -m tests.load.open_loop --target 127.0.0.1:50051 --model fashion-mnist-conv \\
        --method Decode --items 64 --rate 200 --duration 30 --server-pid "$SERVER_PID"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.loadgen import CHANNEL_OPTIONS, SERVICE, build_request
from vaeserve.bench.stats import percentile
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

READY_SERVICE = "vaeserve.v1.VaeService"


@dataclass(frozen=True)
class Sample:
    """The server seen from outside at one moment of the run."""

    t_s: float
    rss_mib: float
    health: str


@dataclass
class OpenLoopResult:
    """What one open-loop run offered and what came back."""

    rate_per_s: float
    duration_s: float
    sent: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    # The first message seen with each status code other than OK, to say why.
    details: dict[str, str] = field(default_factory=dict)
    admitted_ms: dict[str, float] = field(default_factory=dict)
    refused_ms: dict[str, float] = field(default_factory=dict)
    send_lag_p99_ms: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Calls that were neither answered nor refused: timed out, cancelled, or other."""
        return sum(n for code, n in self.codes.items() if code not in ("OK", "RESOURCE_EXHAUSTED"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantiles(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)
    return {
        name: round(percentile(ordered, q) * 1e3, 2)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


async def model_shape(channel: grpc.aio.Channel, model: str) -> ModelShape:
    """The sizes of ``model`` as the server reports them, to build its requests."""
    stub = vae_service_pb2_grpc.VaeServiceStub(channel)
    info = await stub.GetModelInfo(pb.GetModelInfoRequest(model_name=model), timeout=30)
    return ModelShape(model, info.latent_dim, info.channels, info.height, info.width)


class _Sampler:
    """Resident memory (of ``pid``, when given) and readiness, once per ``interval_s``."""

    def __init__(self, channel: grpc.aio.Channel, pid: int | None, interval_s: float) -> None:
        self._health = health_pb2_grpc.HealthStub(channel)
        self._process = psutil.Process(pid) if pid else None
        self._interval_s = interval_s
        self.samples: list[Sample] = []

    async def _health_name(self) -> str:
        request = health_pb2.HealthCheckRequest(service=READY_SERVICE)
        try:
            reply = await self._health.Check(request, timeout=max(1.0, self._interval_s))
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    def _rss_mib(self) -> float:
        """Resident memory in MiB; 0 when no process is watched or it has exited."""
        if self._process is None:
            return 0.0
        try:
            return float(self._process.memory_info().rss) / 2**20
        except psutil.NoSuchProcess:
            return 0.0

    async def run(self, start: float) -> None:
        while True:
            rss = self._rss_mib()
            health = await self._health_name()
            self.samples.append(
                Sample(round(time.perf_counter() - start, 2), round(rss, 1), health)
            )
            await asyncio.sleep(self._interval_s)


async def _one_call(
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes],
    request: bytes,
    due: float,
    timeout_s: float,
    outcomes: list[tuple[str, float, str]],
) -> None:
    code, details = "OK", ""
    try:
        await call(request, timeout=timeout_s)
    except grpc.aio.AioRpcError as error:
        code, details = error.code().name, str(error.details())
    outcomes.append((code, time.perf_counter() - due, details))


async def drive(
    address: str,
    *,
    model: str,
    method: str = "Decode",
    items: int = 1,
    rate_per_s: float,
    duration_s: float,
    timeout_s: float = 30.0,
    server_pid: int | None = None,
    sample_interval_s: float = 1.0,
) -> OpenLoopResult:
    """Offer ``rate_per_s`` calls per second for ``duration_s``, then wait for every answer."""
    result = OpenLoopResult(rate_per_s, duration_s)
    async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        shape = await model_shape(channel, model)
        request = build_request(Scenario(model, method, items, 1), shape)
        call = channel.unary_unary(
            SERVICE + method, request_serializer=None, response_deserializer=None
        )
        sampler = _Sampler(channel, server_pid, sample_interval_s)
        outcomes: list[tuple[str, float, str]] = []
        lags: list[float] = []
        start = time.perf_counter()
        sampling = asyncio.create_task(sampler.run(start))
        calls: set[asyncio.Task[None]] = set()
        for i in range(round(rate_per_s * duration_s)):
            due = start + i / rate_per_s
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            lags.append(time.perf_counter() - due)
            task = asyncio.create_task(_one_call(call, request, due, timeout_s, outcomes))
            calls.add(task)
            task.add_done_callback(calls.discard)
        if calls:
            await asyncio.wait(calls)
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    result.sent = len(lags)
    result.codes = dict(Counter(code for code, _, _ in outcomes))
    for code, _, details in outcomes:
        if code != "OK":
            result.details.setdefault(code, details)
    result.admitted_ms = _quantiles([lat for code, lat, _ in outcomes if code == "OK"])
    result.refused_ms = _quantiles(
        [lat for code, lat, _ in outcomes if code == "RESOURCE_EXHAUSTED"]
    )
    result.send_lag_p99_ms = round(percentile(sorted(lags), 0.99) * 1e3, 2)
    result.samples = sampler.samples
    return result


def summary(result: OpenLoopResult) -> str:
    """A few human lines: offered, outcomes, latencies, memory."""
    rss = [s.rss_mib for s in result.samples if s.rss_mib]
    health = Counter(s.health for s in result.samples)
    return "\n".join(
        [
            f"offered {result.rate_per_s:g}/s for {result.duration_s:g} s: sent {result.sent}, "
            f"send lag p99 {result.send_lag_p99_ms} ms",
            f"outcomes {result.codes} (lost {result.lost}) {result.details}",
            f"admitted latency ms {result.admitted_ms}",
            f"refusal latency ms {result.refused_ms}",
            f"server RSS MiB {rss[:1]} ... {rss[-1:]} (max {max(rss, default=0)})",
            f"health samples {dict(health)}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--model", default="fashion-mnist-conv")
    parser.add_argument("--method", default="Decode", choices=["Decode", "Sample", "Encode"])
    parser.add_argument("--items", type=int, default=64, help="items per request")
    parser.add_argument("--rate", type=float, required=True, help="requests per second offered")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of sending")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of each call")
    parser.add_argument("--server-pid", type=int, help="sample this process's resident memory")
    parser.add_argument("--json", help="also write the full result here")
    args = parser.parse_args(argv)
    result = asyncio.run(
        drive(
            args.target,
            model=args.model,
            method=args.method,
            items=args.items,
            rate_per_s=args.rate,
            duration_s=args.duration,
            timeout_s=args.timeout,
            server_pid=args.server_pid,
        )
    )
    print(summary(result))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(result.to_dict(), stream, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
