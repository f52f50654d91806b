"""`python -m vaeserve serve` as a real child process, for tests that need one.

Signals (SIGTERM), exit codes and the server's resident memory only mean something for a
process of its own; an in-thread server shares all three with pytest. The server binds
127.0.0.1 on ephemeral ports and logs them; :meth:`ServeProcess.start` waits for those
lines and for readiness, so a test gets an address it can dial at once.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

READY_SERVICE = "vaeserve.v1.VaeService"
EMBEDDED_MODELS = Path(__file__).resolve().parents[1] / "models"  # the repository's own
START_TIMEOUT_S = 120.0  # four embedded models load and warm up slowly on a busy machine


class ServeProcess:
    """`python -m vaeserve serve` on ephemeral ports, its stderr collected line by line.

    ``flags`` are appended to the command line, so they override the defaults set here.
    """

    def __init__(self, repository: Path, *flags: str) -> None:
        command = [
            sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1", "--port", "0",
            "--metrics-port", "0", "--http-port", "0", "--model-repository", str(repository),
            "--intra-op-threads", "1", *flags,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = 0
        self.metrics_port = 0
        self.http_port = 0
        self._http = _last_value(command, "--http-port") != "-1"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT_S) -> int:
        """The number the first log line matching ``pattern`` captures."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return int(found.group(1))

    def start(self) -> ServeProcess:
        """Wait until the server listens and every model is loaded; return self."""
        self.port = self.wait_for(r"gRPC listening on [\d.]+:(\d+)")
        if self._http:
            self.http_port = self.wait_for(r"HTTP listening on [\d.]+:(\d+)")
        self.metrics_port = self.wait_for(r"metrics on http://[\d.]+:(\d+)/")
        with grpc.insecure_channel(self.address) as channel:
            wait_serving(channel)
        return self

    def metrics(self) -> str:
        """The /metrics page as text."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as page:
            text: str = page.read().decode()
        return text

    def log(self) -> str:
        rest = [self.lines.get_nowait() for _ in range(self.lines.qsize())]
        self.seen.extend(rest)
        return "".join(self.seen)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join(5)
        assert self.process.stderr is not None
        self.process.stderr.close()


def _last_value(command: list[str], flag: str) -> str | None:
    """The value of the last ``flag`` on ``command`` (a later flag wins), None if absent."""
    values = [command[i + 1] for i, word in enumerate(command[:-1]) if word == flag]
    return values[-1] if values else None


def health_status(channel: grpc.Channel, service: str = READY_SERVICE) -> str:
    """The health status name of ``service`` (SERVING, NOT_SERVING, ...)."""
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def wait_serving(channel: grpc.Channel, timeout: float = START_TIMEOUT_S) -> None:
    """Return once the service reports SERVING (every model loaded and warmed up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if health_status(channel) == "SERVING":
                return
        except grpc.RpcError:
            pass
        time.sleep(0.05)
    raise AssertionError("the server never became ready")


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of ``name`` on a /metrics page whose labels include ``labels``."""
    total = 0.0
    for found in re.finditer(rf"^{re.escape(name)}\{{([^}}]*)\}} (\S+)$", text, re.MULTILINE):
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if all(have.get(key) == value for key, value in labels.items()):
            total += float(found.group(2))
    return total
