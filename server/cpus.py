"""How many CPUs this process may use: the container's limit, not the host's core count.

Its own module, importing nothing heavy, because two kinds of process ask: the inference
code (how many threads) and the supervisor of several serving processes (how many workers
``--workers auto`` starts), which must stay free of onnxruntime and grpc.
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def cpu_limit(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: the cgroup quota when set, else the affinity mask."""
    available = len(os.sched_getaffinity(0))
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return available
    if quota == "max":
        return available
    return max(1, min(available, math.ceil(int(quota) / int(period))))
