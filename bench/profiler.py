"""Sample a server's Python stacks with py-spy while the benchmark drives it.

A throughput number says *that* a server falls short of its limit; a profile taken under
the same load says *where* the time goes. py-spy samples from outside the process, so the
server needs no hooks and runs unchanged. The samples are written as collapsed stacks (one
``frame;frame;... count`` line per distinct stack), which flame-graph tools read, and
summarised for the report as the functions holding the most samples.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE_HZ = 200
STOP_TIMEOUT_S = 60.0
_LINE_NUMBER = re.compile(r":\d+\)$")


class ProfilerError(RuntimeError):
    """py-spy is missing or could not attach."""


@dataclass(frozen=True)
class HotFrame:
    """A function and the share of samples in which it ran (self) or was on the stack."""

    frame: str
    self_share: float
    total_share: float


def find_py_spy() -> str | None:
    """py-spy beside this Python (a virtual environment's bin/), else on the PATH."""
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


class Profiler:
    """py-spy recording one process until :meth:`stop`."""

    def __init__(self, pid: int, output: Path) -> None:
        executable = find_py_spy()
        if executable is None:
            raise ProfilerError("--profile needs py-spy: pip install py-spy")
        self.output = output
        self._process = subprocess.Popen(
            [
                *(executable, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE_HZ)),
                *("--format", "raw", "--output", str(output), "--threads", "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> Path:
        """Stop sampling and return the collapsed-stack file."""
        self._process.send_signal(signal.SIGINT)
        try:
            _, err = self._process.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, err = self._process.communicate()
        if not self.output.exists():
            raise ProfilerError(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
        return self.output


def thread_shares(folded: str) -> dict[str, float]:
    """Share of samples per thread name (event loop, executor workers, gRPC's own threads)."""
    per_thread: Counter[str] = Counter()
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack.startswith("thread") and count_text.isdigit():
            name = stack.split(";", 1)[0].partition(": ")[2] or "unnamed"
            per_thread[re.sub(r"_\d+$", "_N", name)] += int(count_text)
    samples = sum(per_thread.values())
    return {name: count / samples for name, count in per_thread.most_common()} if samples else {}


def hot_frames(folded: str, limit: int = 15) -> list[HotFrame]:
    """The functions with the most self samples, from collapsed stacks; thread frames and
    line numbers are dropped so a function's samples add up wherever it ran."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE_NUMBER.sub(")", f) for f in stack.split(";") if not f.startswith("thread")]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if samples == 0:
        return []
    return [
        HotFrame(frame, count / samples, total[frame] / samples)
        for frame, count in own.most_common(limit)
    ]
