"""`make gpu-check` on a machine without a GPU: says so, exits 0, installs nothing.

The GPU is hidden from the script even where there is one (an nvidia-smi that does not
exist, a device file that does not exist), so this checks the same path everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_gpu_run(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    venv = tmp_path / "venv-gpu"
    environ = dict(
        os.environ,
        GPU_CHECK_NVIDIA_SMI=str(tmp_path / "no-nvidia-smi"),
        GPU_CHECK_DEVICE_NODE=str(tmp_path / "no-nvidia0"),
        GPU_CHECK_VENV=str(venv),
        GPU_CHECK_REPORT=str(tmp_path / "gpu.md"),
    )
    make = shutil.which("make")
    assert make is not None
    found = subprocess.run(
        [make, "-s", "-C", str(ROOT), "gpu-check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return found, tmp_path


def test_without_a_gpu_the_check_says_none_was_found_and_exits_0(
    no_gpu_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    found, _ = no_gpu_run
    assert found.returncode == 0, found.stderr
    assert "no NVIDIA GPU found" in found.stdout


def test_without_a_gpu_the_check_creates_no_environment_and_no_report(
    no_gpu_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = no_gpu_run
    assert not (folder / "venv-gpu").exists()
    assert not (folder / "gpu.md").exists()
