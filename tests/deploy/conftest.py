"""Fixtures for the deployment checks: rendered manifests, and real servers in subprocesses.

The servers run as `python -m vaeserve serve` child processes (not in-process) because what
deployment depends on is the process: its flags and environment, its ports, and what it does
on SIGTERM. Every child is killed at teardown, whatever the test did with it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml  # type: ignore[import-untyped]
from grpc_health.v1 import health_pb2, health_pb2_grpc

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("cpu", "gpu", "cpu-tls")
READINESS_SERVICE = "vaeserve.v1.VaeService"
START_TIMEOUT_S = 60.0


def find_tool(name: str) -> str:
    """The path of a command-line tool a check needs; fail (not skip) when it is missing.

    CI installs every one of them (Makefile: dev extra and system-tools), so a missing tool
    is a broken environment, not a reason to pass quietly.
    """
    beside_python = Path(sys.executable).with_name(name)
    path = str(beside_python) if beside_python.exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; `make tools` (or the dev extra) installs it")
    return path


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """`tool("promtool")`: the path of a tool the check needs (see :func:`find_tool`)."""
    return find_tool


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every overlay as `kubectl kustomize` renders it: overlay name -> list of objects."""
    kubectl = find_tool("kubectl")
    result = {}
    for overlay in OVERLAYS:
        out = subprocess.run(
            [kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result[overlay] = [doc for doc in yaml.safe_load_all(out) if doc]
    return result


def free_port() -> int:
    """A loopback port nobody holds now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health_status(port: int, service: str, timeout: float = 2.0) -> int:
    """The health service's answer for `service`, or UNKNOWN when the server cannot be reached."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError:
            return int(health_pb2.HealthCheckResponse.UNKNOWN)
        return int(reply.status)


@dataclass
class ServerProcess:
    """One `vaeserve serve` child process and the ports it listens on."""

    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        serving = int(health_pb2.HealthCheckResponse.SERVING)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.output()}")
            if health_status(self.port, READINESS_SERVICE) == serving:
                return
            time.sleep(0.2)
        pytest.fail(f"server not SERVING after {timeout} s:\n{self.output()}")

    def scrape(self) -> str:
        """The server's /metrics page, Prometheus text format."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            text: str = reply.read().decode("utf-8")
            return text

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels` (0 when none do)."""
        total = 0.0
        pattern = re.compile(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$")
        for line in self.scrape().splitlines():
            match = pattern.match(line)
            if match is None:
                continue
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
            if all(found.get(key) == value for key, value in labels.items()):
                total += float(match.group(2))
        return total

    def ready_model(self) -> str:
        """The name of a model this server serves (the first READY one it lists)."""
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            stub = pb_grpc.VaeServiceStub(channel)
            models = stub.ListModels(pb.ListModelsRequest(), timeout=10).models
        ready = [m.name for m in models if m.state == pb.MODEL_STATE_READY]
        assert ready, f"no model is ready: {models}"
        return str(ready[0])

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def terminate(self) -> int:
        """SIGTERM, as Kubernetes sends it, and the exit code once the server has drained."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@dataclass
class ServerFactory:
    """Starts servers on fresh loopback ports; kills whatever is left at teardown."""

    log_dir: Path
    repository: Path
    started: list[ServerProcess] = field(default_factory=list)

    def start(
        self, command: Sequence[str] | None = None, extra_env: dict[str, str] | None = None
    ) -> ServerProcess:
        port, metrics_port = free_port(), free_port()
        argv = [*(command or [sys.executable, "-m", "vaeserve"]), "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--metrics-port", str(metrics_port)]
        argv += ["--http-port", "0"]
        argv += ["--model-repository", str(self.repository)]
        log = self.log_dir / f"server-{port}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                argv, env=server_env(extra_env), stdout=sink, stderr=subprocess.STDOUT
            )
        server = ServerProcess(process, port, metrics_port, log)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


def server_env(extra: dict[str, str] | None) -> dict[str, str]:
    """This environment without VAESERVE_* settings (tests set their own), one thread each."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VAESERVE_")}
    env["VAESERVE_INTRA_OP_THREADS"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def server_factory() -> type[ServerFactory]:
    """The factory class itself, for fixtures wider than a test (they call stop_all)."""
    return ServerFactory


@pytest.fixture
def servers(tmp_path: Path, tiny_repository: Path) -> Iterator[ServerFactory]:
    """Servers on the shared tiny model repository (tests/conftest.py)."""
    factory = ServerFactory(tmp_path, tiny_repository)
    try:
        yield factory
    finally:
        factory.stop_all()
