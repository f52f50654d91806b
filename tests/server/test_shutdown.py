"""SIGTERM on a real `vaeserve serve` process: drain, finish what is in flight, exit 0."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensor_messages import random_latents, tensor  # type: ignore[import-not-found]

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

HOLD_MS = 1000  # a lone request waits this long in the queue: it is in flight at SIGTERM


class ServeProcess:
    """`python -m vaeserve serve` on an ephemeral port, its stderr collected line by line."""

    def __init__(self, repository: Path) -> None:
        command = [
            sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1", "--port", "0",
            "--metrics-port", "0", "--model-repository", str(repository),
            "--intra-op-threads", "1", "--max-queue-delay-ms", str(HOLD_MS),
            "--grace-period-s", "5",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> int:
        """The number the first log line matching ``pattern`` captures."""
        while True:
            line = self.lines.get(timeout=30)
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return int(found.group(1))

    def log(self) -> str:
        rest = [self.lines.get_nowait() for _ in range(self.lines.qsize())]
        return "".join(self.seen + rest)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join(5)
        assert self.process.stderr is not None
        self.process.stderr.close()


def queued_items(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
        text = page.read().decode()
    found = re.search(
        r'vaeserve_queue_depth_items\{graph="decoder",model="tiny-grey/2"\} (\S+)', text
    )
    return float(found.group(1)) if found else 0.0


def wait_queued(metrics_port: int) -> None:
    for _ in range(200):
        if queued_items(metrics_port) >= 1:
            return
        time.sleep(0.02)
    raise AssertionError("the request never reached the queue")


def wait_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="vaeserve.v1.VaeService")
    for _ in range(200):
        if stub.Check(request).status == health_pb2.HealthCheckResponse.SERVING:
            return
        time.sleep(0.05)
    raise AssertionError("the server never became ready")


def test_sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_0(tiny_repository) -> None:
    with ServeProcess(tiny_repository) as server:
        port = server.wait_for(r"gRPC listening on [\d.]+:(\d+)")
        metrics_port = server.wait_for(r"metrics on http://[\d.]+:(\d+)/")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            wait_serving(channel)
            stub = vae_service_pb2_grpc.VaeServiceStub(channel)
            request = pb.DecodeRequest(model_name="tiny-grey", latents=tensor(random_latents(1)))
            in_flight = stub.Decode.future(request, timeout=10)
            wait_queued(metrics_port)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with pytest.raises(grpc.RpcError) as refused:
                stub.Decode(request, timeout=5)
            reply = in_flight.result(timeout=10)
        returncode = server.process.wait(timeout=15)
        server.reader.join(5)
        log = server.log()
    assert reply.images.tensor.shape == [1, 1, 8, 8]
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert returncode == 0
    assert "stopped" in log
