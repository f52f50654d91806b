"""What the benchmark reads about a server process: start failures, memory, torch."""

import subprocess
import sys
from pathlib import Path

import pytest

from vaeserve.bench.processes import (
    ServerProcess,
    ServerStartError,
    free_port,
    maps_torch,
    peak_rss_bytes,
)


def _child(code: str) -> subprocess.Popen[str]:
    """A Python child that runs ``code``, says ready, and waits for its stdin to close."""
    script = f"{code}\nimport sys\nprint('ready', flush=True)\nsys.stdin.read()"
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _end(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    child.wait(timeout=30)
    child.stdout.close()


def test_a_process_that_imported_torch_maps_libtorch():
    pytest.importorskip("torch")
    child = _child("import torch")
    try:
        assert maps_torch(child.pid)
    finally:
        _end(child)


def test_a_process_without_torch_maps_no_libtorch():
    child = _child("import numpy")
    try:
        assert not maps_torch(child.pid)
    finally:
        _end(child)


def test_peak_rss_remembers_memory_already_released():
    child = _child("block = bytearray(64 * 2**20)\nblock[:] = b'x' * len(block)\ndel block")
    try:
        assert peak_rss_bytes(child.pid) >= 64 * 2**20
    finally:
        _end(child)


def test_a_server_that_exits_before_serving_fails_with_its_log(tmp_path: Path):
    command = [sys.executable, "-c", "print('no model here'); raise SystemExit(3)"]
    server = ServerProcess(command, f"127.0.0.1:{free_port()}", tmp_path / "server.log")
    try:
        with pytest.raises(ServerStartError, match="no model here"):
            server.wait_serving(timeout_s=30)
    finally:
        server.stop()
