"""The CPU limit: the cgroup quota of the container, not the host's core count."""

from __future__ import annotations

import os
from pathlib import Path

from vaeserve.server.cpus import cpu_limit


def test_cpu_limit_follows_the_cgroup_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpu_limit(tmp_path) == min(2, len(os.sched_getaffinity(0)))


def test_cpu_limit_without_a_quota_is_the_affinity_mask(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_limit(tmp_path) == len(os.sched_getaffinity(0))
