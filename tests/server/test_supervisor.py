"""`vaeserve serve --workers 2`: real processes sharing one port, one /metrics, one health.

Every test runs the real command (tests/serve_process.py) on the tiny repository, so each
server starts in a few seconds. Calls go through many channels, each with its own
connection (a local subchannel pool), because SO_REUSEPORT spreads connections, not calls.
Which worker a call reached is read from ``vaeserve_worker_requests_total{worker}``; the
workers' pids from the supervisor's log.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.serve_process import (
    EMBEDDED_MODELS,
    ServeProcess,
    health_status,
    metric_sum,
    wait_serving,
)
from tests.tensor_messages import random_latents, tensor
from vaeserve.client import Client, ClientOptions
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

CHANNELS = 24  # all 24 connections on one of 2 workers: a chance of 2 in 16 million
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]
DECODE = pb.DecodeRequest(model_name="tiny-grey", latents=tensor(random_latents(64)))
# Most of a second per call at 16 callers on 2 cores: at any moment most callers' calls are
# admitted and queued or running.
SLOW_DECODE = pb.DecodeRequest(
    model_name="fashion-mnist-conv", latents=tensor(random_latents(256, dim=32))
)
WORKER_STARTED = r"worker {slot} started, pid (\d+)"


@pytest.fixture(scope="module")
def two_workers(tiny_repository: Path) -> Iterator[ServeProcess]:
    """One `--workers 2` server for the tests that only call it."""
    with ServeProcess(tiny_repository, "--workers", "2", "--health-port", "0") as server:
        yield server.start()


def decode_through_channels(address: str, channels: int, calls_each: int) -> Counter[str]:
    """``calls_each`` Decodes through each of ``channels`` fresh connections: codes seen."""
    codes: Counter[str] = Counter()
    for _ in range(channels):
        with grpc.insecure_channel(address, options=OWN_CONNECTION) as channel:
            stub = vae_service_pb2_grpc.VaeServiceStub(channel)
            for _ in range(calls_each):
                stub.Decode(DECODE, timeout=30)
                codes["OK"] += 1
    return codes


class ClosedLoop:
    """Callers that each send a Decode, await it and send the next, over many connections;
    every call is recorded as (start, end, code)."""

    def __init__(
        self, address: str, request: pb.DecodeRequest = DECODE, callers: int = 16, channels: int = 8
    ) -> None:
        self.address = address
        self.request = request
        self.callers = callers
        self.channels = channels
        self.calls: list[tuple[float, float, str]] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        channels = [
            grpc.aio.insecure_channel(self.address, options=OWN_CONNECTION)
            for _ in range(self.channels)
        ]
        stubs = [vae_service_pb2_grpc.VaeServiceStub(c) for c in channels]
        try:
            await asyncio.gather(
                *(self._caller(stubs[i % len(stubs)]) for i in range(self.callers))
            )
        finally:
            for channel in channels:
                await channel.close(grace=None)

    async def _caller(self, stub: vae_service_pb2_grpc.VaeServiceStub) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            code = "OK"
            try:
                await stub.Decode(self.request, timeout=30)
            except grpc.aio.AioRpcError as error:
                code = error.code().name
            self.calls.append((start, time.monotonic(), code))
            if code != "OK":
                await asyncio.sleep(0.01)  # as a client backing off before its retry

    def codes(self) -> Counter[str]:
        return Counter(code for _, _, code in self.calls)


def wait_logged(server: ServeProcess, pattern: str, count: int = 1) -> list[str]:
    """What ``pattern`` captures in the server's log, once it has matched ``count`` times."""
    deadline = time.monotonic() + 60
    while True:
        found = re.findall(pattern, server.log())
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{pattern!r} logged {len(found)} times:\n{server.log()}"
            return found
        time.sleep(0.05)


def worker_pid(server: ServeProcess, slot: int, nth: int = 1) -> int:
    """The pid of the ``nth`` worker started in ``slot`` (2: its first replacement)."""
    return int(wait_logged(server, WORKER_STARTED.format(slot=slot), nth)[nth - 1])


def test_calls_through_many_channels_reach_every_worker(two_workers: ServeProcess) -> None:
    decode_through_channels(two_workers.address, CHANNELS, 1)
    page = two_workers.metrics()
    per_worker = [metric_sum(page, "vaeserve_worker_requests_total", worker=w) for w in "01"]
    assert all(count > 0 for count in per_worker), per_worker


def test_one_sdk_client_with_several_channels_reaches_every_worker(
    two_workers: ServeProcess,
) -> None:
    def per_worker() -> list[float]:
        page = two_workers.metrics()
        return [metric_sum(page, "vaeserve_worker_requests_total", worker=w) for w in "01"]

    before = per_worker()
    with Client(two_workers.address, options=ClientOptions(channels=CHANNELS)) as client:
        for _ in range(2 * CHANNELS):  # the client takes its channels in turn
            client.decode("tiny-grey", random_latents(4))
    assert all(after > earlier for after, earlier in zip(per_worker(), before, strict=True))


def test_metrics_count_every_call_made_across_the_workers(two_workers: ServeProcess) -> None:
    def decodes() -> float:
        page = two_workers.metrics()
        return metric_sum(page, "vaeserve_requests_total", method="Decode", code="OK")

    before = decodes()
    made = decode_through_channels(two_workers.address, 12, 5)["OK"]
    assert decodes() - before == made == 60


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_the_one_metrics_page_is_promtool_clean(two_workers: ServeProcess) -> None:
    decode_through_channels(two_workers.address, 4, 1)
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=two_workers.metrics(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_health_port_is_shared_and_serving(two_workers: ServeProcess) -> None:
    port = int(wait_logged(two_workers, r"gRPC health \(only\) on [\d.]+:(\d+)")[0])
    statuses = set()
    for _ in range(8):
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=OWN_CONNECTION) as channel:
            statuses.add(health_status(channel))
    assert statuses == {"SERVING"}


def test_the_http_port_is_shared_and_ready(two_workers: ServeProcess) -> None:
    statuses = set()
    for _ in range(16):  # urllib opens a fresh connection each time
        with urllib.request.urlopen(f"{two_workers.http_url}/readyz", timeout=10) as reply:
            statuses.add(reply.status)
    assert statuses == {200}


def test_the_supervisor_never_loads_grpc(two_workers: ServeProcess) -> None:
    maps = Path(f"/proc/{two_workers.pid}/maps").read_text()
    worker_maps = Path(f"/proc/{worker_pid(two_workers, 0)}/maps").read_text()
    assert ("cygrpc" in maps, "cygrpc" in worker_maps) == (False, True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_drains_every_worker_and_exits_0(signum: int) -> None:
    # Slow calls: at the signal, calls sent 0.1 s before are admitted in one worker or the
    # other (queued or running); each of those must still be answered.
    flags = ("--workers", "2", "--grace-period-s", "10")
    with ServeProcess(EMBEDDED_MODELS, *flags) as server:
        server.start()
        load = ClosedLoop(server.address, SLOW_DECODE)

        async def scenario() -> float:
            task = asyncio.create_task(load.run())
            await asyncio.sleep(1.0)
            signalled = time.monotonic()
            server.process.send_signal(signum)
            await asyncio.sleep(1.0)
            load.stop.set()
            await task
            return signalled

        signalled = asyncio.run(scenario())
        assert server.process.wait(timeout=30) == 0
    queued = [code for start, end, code in load.calls if start < signalled - 0.1 < signalled < end]
    assert len(queued) >= 4 and set(queued) == {"OK"}, Counter(queued)
    # Calls sent after the signal are refused (UNAVAILABLE), or dropped by grpc's core
    # before any worker saw them (CANCELLED, see tests/faults/test_sigterm_under_load.py).
    assert set(load.codes()) <= {"OK", "UNAVAILABLE", "CANCELLED"}, load.codes()


@dataclass(frozen=True)
class KilledWorker:
    """What one kill -9 of worker 0 under load left behind."""

    victim: int
    replacement: int
    codes: Counter[str]
    log: str
    decodes_counted: float


@pytest.fixture(scope="module")
def killed_worker(tiny_repository: Path) -> KilledWorker:
    """kill -9 worker 0 while 16 callers call through 8 connections, and call on until its
    replacement is warm; then read what the server counted and logged."""
    with ServeProcess(tiny_repository, "--workers", "2") as server:
        server.start()
        victim = worker_pid(server, 0)
        load = ClosedLoop(server.address)

        async def scenario() -> int:
            task = asyncio.create_task(load.run())
            await asyncio.sleep(1.0)
            os.kill(victim, signal.SIGKILL)
            replacement = await asyncio.to_thread(worker_pid, server, 0, 2)
            await asyncio.to_thread(wait_logged, server, "all 2 workers warm", 2)
            await asyncio.sleep(0.5)
            load.stop.set()
            await task
            return replacement

        replacement = asyncio.run(scenario())
        with grpc.insecure_channel(server.address) as channel:
            wait_serving(channel, timeout=30)
        page = server.metrics()
        counted = metric_sum(page, "vaeserve_requests_total", method="Decode", code="OK")
        return KilledWorker(victim, replacement, load.codes(), server.log(), counted)


def test_a_killed_worker_is_logged_and_replaced(killed_worker: KilledWorker) -> None:
    assert f"worker 0 (pid {killed_worker.victim}) was killed by SIGKILL" in killed_worker.log
    assert killed_worker.replacement != killed_worker.victim


def test_callers_of_a_killed_worker_see_only_unavailable(killed_worker: KilledWorker) -> None:
    assert set(killed_worker.codes) <= {"OK", "UNAVAILABLE"}, killed_worker.codes
    assert killed_worker.codes["OK"] > 0


def test_a_dead_workers_calls_stay_counted(killed_worker: KilledWorker) -> None:
    # A worker counts a call just before its reply goes out, so a call or two it counted
    # may have died with it; none that a caller got back may be missing.
    assert killed_worker.decodes_counted >= killed_worker.codes["OK"]


def test_a_warm_worker_says_not_serving_while_another_is_replaced(tiny_repository: Path) -> None:
    with ServeProcess(tiny_repository, "--workers", "2") as server:
        server.start()
        os.kill(worker_pid(server, 1), signal.SIGKILL)
        wait_logged(server, r"worker 1 \(pid \d+\) was killed")
        # The dead worker's socket is gone and its replacement binds only after it starts
        # up: a fresh connection now reaches the warm worker 0.
        with grpc.insecure_channel(server.address, options=OWN_CONNECTION) as channel:
            during = health_status(channel)
        wait_logged(server, "all 2 workers warm", 2)
        with grpc.insecure_channel(server.address, options=OWN_CONNECTION) as channel:
            after = health_status(channel)
    assert (during, after) == ("NOT_SERVING", "SERVING")


def test_workers_stop_by_themselves_when_the_supervisor_is_killed(tiny_repository: Path) -> None:
    with ServeProcess(tiny_repository, "--workers", "2", "--grace-period-s", "1") as server:
        server.start()
        workers = [worker_pid(server, 0), worker_pid(server, 1)]
        server.process.kill()
        server.process.wait()
        try:
            deadline = time.monotonic() + 20
            while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(alive(pid) for pid in workers)
        finally:
            for pid in filter(alive, workers):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie left for init to reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_one_worker_is_one_process_with_no_supervisor(tiny_repository: Path) -> None:
    with ServeProcess(tiny_repository, "--workers", "1") as server:
        server.start()
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert (children, "supervisor" in server.log()) == ([], False)


@pytest.mark.parametrize("share", [False, True], ids=["plain", "so_reuseport"])
def test_a_taken_port_is_a_one_line_error_with_several_workers(
    tiny_repository: Path, share: bool
) -> None:
    with socket.socket() as taken:
        if share:  # as another server's workers hold theirs
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *(sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1"),
                *("--port", str(port), "--metrics-port", "-1", "--workers", "2"),
                *("--model-repository", str(tiny_repository)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert lines[-1] == (
        f"vaeserve serve: cannot listen on 127.0.0.1:{port} (--port): the port is in use "
        "(is another server running?)"
    )
    assert "Traceback" not in result.stderr


def test_explicit_model_control_is_refused_with_several_workers(tiny_repository: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1", "--port", "0"),
            *("--workers", "2", "--model-control", "explicit"),
            *("--model-repository", str(tiny_repository)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0
    assert last.startswith("vaeserve serve: --model-control explicit needs one process")
