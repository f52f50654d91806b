"""Profiles of a server under load: recording with py-spy and reading collapsed stacks."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaeserve.bench.profiler import Profiler, find_py_spy, hot_frames, thread_shares

FOLDED = """\
thread (1): MainThread;main (a.py:1);serve (b.py:10);parse (c.py:5) 30
thread (1): MainThread;main (a.py:1);serve (b.py:12);parse (c.py:7) 10
thread (2): ThreadPoolExecutor-0_0;worker (d.py:3);run (ort.py:9) 40
thread (3): ThreadPoolExecutor-0_1;worker (d.py:3);run (ort.py:9) 20
"""


def test_hot_frames_add_up_a_function_over_its_lines_and_threads():
    hot = {frame.frame: frame for frame in hot_frames(FOLDED)}
    assert hot["run (ort.py)"].self_share == pytest.approx(0.6)
    assert hot["parse (c.py)"].self_share == pytest.approx(0.4)
    assert "serve (b.py)" not in hot  # never on top of a stack


def test_hot_frames_count_a_caller_in_the_total_of_its_callees():
    total = {frame.frame: frame.total_share for frame in hot_frames(FOLDED)}
    assert total["run (ort.py)"] == pytest.approx(0.6)
    assert max(total.values()) <= 1.0


def test_thread_shares_group_the_executor_workers():
    shares = thread_shares(FOLDED)
    assert shares == pytest.approx({"ThreadPoolExecutor-0_N": 0.6, "MainThread": 0.4})


def test_profiler_records_the_stacks_of_a_running_process(tmp_path: Path):
    if find_py_spy() is None:
        pytest.skip("py-spy is not installed")
    busy = "import time\ndef spin():\n    while True: sum(range(1000))\nspin()"
    child = subprocess.Popen([sys.executable, "-c", busy])
    try:
        profiler = Profiler(child.pid, tmp_path / "busy.folded")
        time.sleep(0.5)
        folded = profiler.stop().read_text()
    finally:
        child.kill()
        child.wait()
    assert any(frame.frame.startswith("spin ") for frame in hot_frames(folded))
