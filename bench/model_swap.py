"""Model control, measured: publication to first served request, latency during a swap,
memory released on unload.

``python -m vaeserve.bench.model_swap --out reports/model-control.json`` (wrap it in
``flock /tmp/vaeserve-bench.lock``). One ``vaeserve serve`` child process per mode, on a
temporary repository holding a copy of the embedded ``fashion-mnist`` model. While
``--callers`` clients decode one latent vector each in a loop on version 0, each round

1. measures a quiet window (no change),
2. publishes version k+1 (a copy in a hidden sibling, renamed into place; in explicit mode
   followed by LoadModel) and measures the window from the rename to half a second after
   the first reply from version k+1,

so quiet and swap windows alternate under the same machine noise; the report gives the
median over rounds of each window's p50 and p99. Publication-to-first-served is the time
from the rename to the first reply that names the new version. Memory: in explicit mode,
the server's resident size with one extra version loaded and after it is unloaded, each
read from /proc after the change settles.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.bench.processes import ServerProcess, free_port
from vaeserve.bench.stats import percentile
from vaeserve.client.tensors import to_tensor
from vaeserve.manifest import read_manifest, write_manifest
from vaeserve.server.settings import embedded_repository
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

MODEL = "fashion-mnist"
SWAP_TAIL_S = 0.5


@dataclass
class Round:
    mode: str
    publish_to_first_served_s: float
    quiet_p50_ms: float
    quiet_p99_ms: float
    swap_p50_ms: float
    swap_p99_ms: float
    quiet_calls: int
    swap_calls: int
    failed_calls: int


def publish(repository: Path, version: int) -> float:
    """Copy version 1 as ``version`` into a hidden sibling, rename it into place; return
    the moment of the rename."""
    model_dir = repository / MODEL
    staging = model_dir / f".staging-{version}"
    shutil.copytree(model_dir / "1", staging)
    manifest = read_manifest(staging)
    write_manifest(staging, dataclasses.replace(manifest, version=version))
    renamed_at = time.monotonic()
    staging.rename(model_dir / str(version))
    return renamed_at


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Load:
    """``callers`` clients decoding one latent each on version 0, every reply recorded."""

    def __init__(self, stub: pb_grpc.VaeServiceStub, callers: int, latent_dim: int) -> None:
        self._stub = stub
        self._callers = callers
        self._latent_dim = latent_dim
        self.replies: list[tuple[float, float, int]] = []  # started, ended, version
        self.first_seen: dict[int, float] = {}  # version -> end of its first reply
        self.failed = 0
        self.last_error = ""
        self._running = True
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._call_loop()) for _ in range(self._callers)]

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    async def _call_loop(self) -> None:
        latents = np.zeros((1, self._latent_dim), np.float32)
        request = pb.DecodeRequest(
            model_name=MODEL,
            latents=to_tensor(latents),
        )
        while self._running:
            started = time.monotonic()
            try:
                reply = await self._stub.Decode(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                self.failed += 1
                self.last_error = f"{error.code().name}: {error.details()}"
                continue
            ended = time.monotonic()
            self.replies.append((started, ended, reply.model_version))
            self.first_seen.setdefault(reply.model_version, ended)

    def latencies_ms(self, begin: float, end: float) -> list[float]:
        return sorted(
            (ended - started) * 1000 for started, ended, _ in self.replies if begin <= started < end
        )

    async def first_reply_from(self, version: int, timeout_s: float = 60.0) -> float:
        deadline = time.monotonic() + timeout_s
        while version not in self.first_seen:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"version {version} never answered; {self.failed} calls failed, the last "
                    f"with {self.last_error or 'nothing'}"
                )
            await asyncio.sleep(0.002)
        return self.first_seen[version]


async def run_mode(
    mode: str, rounds: int, callers: int, quiet_s: float, poll_s: float
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="vaeserve-swap-"))
    repository = workdir / "models"
    shutil.copytree(embedded_repository() / MODEL / "1", repository / MODEL / "1")
    port = free_port()
    command = [
        sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--metrics-port", "-1", "--model-repository", str(repository),
        "--model-control", mode, "--repository-poll-s", str(poll_s), "--log-level", "WARNING",
    ]  # fmt: skip
    address = f"127.0.0.1:{port}"
    server = ServerProcess(command, address, workdir / "server.log")
    results: list[Round] = []
    memory: dict[str, int] = {}
    try:
        server.wait_serving(120.0)
        async with grpc.aio.insecure_channel(address) as channel:
            stub = pb_grpc.VaeServiceStub(channel)  # type: ignore[no-untyped-call]
            admin = admin_grpc.AdminServiceStub(channel)  # type: ignore[no-untyped-call]
            info = await stub.GetModelInfo(pb.GetModelInfoRequest(model_name=MODEL))
            load = Load(stub, callers, info.latent_dim)
            load.start()
            await asyncio.sleep(1.0)  # warm
            for index in range(rounds):
                version = index + 2
                quiet_begin = time.monotonic()
                await asyncio.sleep(quiet_s)
                quiet_end = time.monotonic()
                renamed_at = await asyncio.to_thread(publish, repository, version)
                if mode == "explicit":
                    await admin.LoadModel(
                        admin_pb.LoadModelRequest(model_name=MODEL, model_version=version)
                    )
                first = await load.first_reply_from(version)
                await asyncio.sleep(SWAP_TAIL_S)
                quiet = load.latencies_ms(quiet_begin, quiet_end)
                swap = load.latencies_ms(renamed_at, first + SWAP_TAIL_S)
                results.append(
                    Round(
                        mode,
                        first - renamed_at,
                        percentile(quiet, 0.5),
                        percentile(quiet, 0.99),
                        percentile(swap, 0.5),
                        percentile(swap, 0.99),
                        len(quiet),
                        len(swap),
                        load.failed,
                    )
                )
            await load.stop()
            if mode == "explicit":
                memory = await measure_memory(admin, repository, server.pid, rounds + 2)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"rounds": [dataclasses.asdict(r) for r in results], "memory": memory}


async def measure_memory(
    admin: admin_grpc.AdminServiceStub, repository: Path, pid: int, version: int
) -> dict[str, int]:
    """RSS with every version but 1 unloaded, with one more loaded, and after its unload."""
    held = await admin.RepositoryIndex(admin_pb.RepositoryIndexRequest())
    for entry in held.models:
        if entry.version != 1 and entry.state == admin_pb.VERSION_STATE_READY:
            await admin.UnloadModel(
                admin_pb.UnloadModelRequest(model_name=MODEL, model_version=entry.version)
            )
    await asyncio.sleep(1.0)
    before = rss_bytes(pid)
    await asyncio.to_thread(publish, repository, version)
    await admin.LoadModel(admin_pb.LoadModelRequest(model_name=MODEL, model_version=version))
    await asyncio.sleep(1.0)
    loaded = rss_bytes(pid)
    await admin.UnloadModel(admin_pb.UnloadModelRequest(model_name=MODEL, model_version=version))
    await asyncio.sleep(1.0)
    after = rss_bytes(pid)
    return {"rss_before": before, "rss_loaded": loaded, "rss_after_unload": after}


def summary(mode_result: dict[str, Any]) -> dict[str, float]:
    rounds = mode_result["rounds"]

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    return {
        key: median(key)
        for key in (
            "publish_to_first_served_s",
            "quiet_p50_ms",
            "quiet_p99_ms",
            "swap_p50_ms",
            "swap_p99_ms",
        )
    } | {"failed_calls": float(max(r["failed_calls"] for r in rounds))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--quiet-s", type=float, default=2.0)
    parser.add_argument("--poll-s", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("reports/model-control.json"))
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "model": MODEL,
        "callers": args.callers,
        "poll_s": args.poll_s,
        "quiet_s": args.quiet_s,
    }
    for mode in ("poll", "explicit"):
        result = asyncio.run(run_mode(mode, args.rounds, args.callers, args.quiet_s, args.poll_s))
        report[mode] = result | {"summary": summary(result)}
        print(mode, json.dumps(report[mode]["summary"]), result["memory"], flush=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
