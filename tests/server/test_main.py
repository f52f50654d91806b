"""`vaeserve serve` stops on a start-up error before it listens: one line, non-zero exit.

The real command runs as a child process. While it runs, the test keeps trying to connect
to the port it was given, so a port opened even briefly (then closed by the error) is seen.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

START_S = 60.0  # a cold interpreter importing onnxruntime and grpc on a busy machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts_connections(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(0.05)
        return client.connect_ex(("127.0.0.1", port)) == 0


def serve_watching(port: int, *flags: str) -> tuple[int, str, bool]:
    """Run `vaeserve serve --port PORT FLAGS` to its exit; its exit code, its stderr, and
    whether anything accepted a connection on PORT meanwhile."""
    command = [sys.executable, "-m", "vaeserve", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--metrics-port", "-1", *flags]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    opened = False
    deadline = time.monotonic() + START_S
    while child.poll() is None and time.monotonic() < deadline:
        opened = opened or accepts_connections(port)
        time.sleep(0.005)
    if child.poll() is None:
        child.kill()
    _, stderr = child.communicate(timeout=10)
    return child.returncode, stderr, opened


def assert_one_line(stderr: str, expected: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vaeserve serve: ") and expected in lines[0], stderr
    assert "Traceback" not in stderr


def test_cuda_on_a_host_without_it_stops_before_the_port_opens() -> None:
    port = free_port()
    code, stderr, opened = serve_watching(port, "--execution-provider", "cuda")
    assert code != 0
    assert_one_line(stderr, "execution provider 'cuda' asked for")
    assert not opened
    assert "listening" not in stderr


def test_a_port_in_use_stops_the_server_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stderr, _ = serve_watching(port)
    assert code != 0
    assert_one_line(stderr, f"cannot listen on 127.0.0.1:{port} (--port): the port is in use")


@pytest.mark.parametrize("flag", ["--metrics-port", "--health-port"])
def test_a_second_port_in_use_stops_the_server_before_the_grpc_port_opens(flag: str) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        other = taken.getsockname()[1]
        code, stderr, opened = serve_watching(port, flag, str(other))
    assert code != 0
    assert_one_line(stderr, f"cannot listen on 127.0.0.1:{other} ({flag})")
    assert not opened


def test_a_missing_tls_file_stops_the_server_before_the_port_opens(tmp_path: Path) -> None:
    port = free_port()
    missing = tmp_path / "server.crt"
    flags = ["--tls-cert-file", str(missing), "--tls-key-file", str(tmp_path / "server.key")]
    code, stderr, opened = serve_watching(port, *flags)
    assert code != 0
    assert_one_line(stderr, f"{missing} does not exist")
    assert not opened
