"""Start a server process, time it to SERVING, and read what it cost from /proc.

Every target of the benchmark runs as a child process on loopback. Cold start is the wall
time from spawning the process to the first SERVING answer of the overall health check
(which a server gives only once every model is loaded and warmed up). Peak resident memory
is the kernel's high-water mark (VmHWM), read just before the process is stopped, so it
covers the whole run. Whether torch was ever imported is read from the process's memory
map: importing torch maps libtorch, and nothing unmaps it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

POLL_S = 0.01
STOP_TIMEOUT_S = 30.0
TORCH_MARKERS = ("libtorch", "/torch/lib/", "libc10")


class ServerStartError(RuntimeError):
    """A server process exited or did not become SERVING in time."""


@dataclass(frozen=True)
class ServerCost:
    """What one server process cost over the run."""

    cold_start_s: float
    peak_rss_bytes: int
    imported_torch: bool


def free_port() -> int:
    """A loopback port nobody listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_bytes(pid: int) -> int:
    """The process's resident-memory high-water mark (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ServerStartError(f"/proc/{pid}/status has no VmHWM line")


def maps_torch(pid: int) -> bool:
    """True when any torch shared library is mapped into the process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return any(marker in maps for marker in TORCH_MARKERS)


class ServerProcess:
    """A server child process listening on ``address``; use it as a context manager."""

    def __init__(self, command: Sequence[str], address: str, log_path: Path) -> None:
        self.address = address
        self.log_path = log_path
        self._command = list(command)
        self._log = log_path.open("wb")
        self._started = time.perf_counter()
        self._process = subprocess.Popen(
            self._command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.cold_start_s = float("nan")

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_serving(self, timeout_s: float) -> float:
        """Block until the service's readiness says SERVING (vaeserve: every model loaded and
        warmed up; liveness, ``""``, turns SERVING as soon as it listens); the cold start in
        seconds."""
        deadline = self._started + timeout_s
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() < deadline:
                if self._process.poll() is not None:
                    raise ServerStartError(
                        f"{self._describe()} exited with {self._process.returncode}"
                    )
                if _is_serving(stub):
                    self.cold_start_s = time.perf_counter() - self._started
                    return self.cold_start_s
                time.sleep(POLL_S)
        raise ServerStartError(f"{self._describe()} was not SERVING after {timeout_s:.0f} s")

    def cost(self) -> ServerCost:
        """Read while the process still runs: peak memory so far and whether torch is mapped."""
        return ServerCost(self.cold_start_s, peak_rss_bytes(self.pid), maps_torch(self.pid))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def _describe(self) -> str:
        tail = self.log_path.read_text(errors="replace")[-2000:]
        return f"server {' '.join(self._command)} (log {self.log_path}):\n{tail}"

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


READY_SERVICE = "vaeserve.v1.VaeService"


def _is_serving(stub: health_pb2_grpc.HealthStub) -> bool:
    try:
        answer = stub.Check(health_pb2.HealthCheckRequest(service=READY_SERVICE), timeout=1.0)
    except grpc.RpcError:
        return False  # not listening yet, or still loading
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
