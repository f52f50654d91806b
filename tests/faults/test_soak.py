"""A soak: steady load for a bounded time; the server's resident memory stays flat.

The short variant (about 15 s with start-up) runs in every CI run; the long one (``-m slow``, about
3.5 minutes) is the one to run before a release and the one reports/load.md quotes. Both
sample the server's RSS once a second from outside (psutil on its pid) and allow less than
5 % growth between the end of warm-up and the end of the run: a leak of a few bytes per
request shows up as a steady climb, allocator noise as a plateau.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import pytest

from tests.load.open_loop import OpenLoopResult, drive
from tests.serve_process import EMBEDDED_MODELS, ServeProcess

MAX_GROWTH = 0.05


async def steady_load(server: ServeProcess, seconds: float) -> list[OpenLoopResult]:
    """Conv decodes and MLP encodes side by side, well below capacity; RSS sampled by one."""
    decode = drive(
        server.address,
        model="fashion-mnist-conv",
        items=64,
        rate_per_s=25.0,
        duration_s=seconds,
        server_pid=server.pid,
    )
    encode = drive(
        server.address, model="fashion-mnist", method="Encode", items=16, rate_per_s=50.0,
        duration_s=seconds,
    )  # fmt: skip
    return list(await asyncio.gather(decode, encode))


async def warm_up(server: ServeProcess, seconds: float) -> None:
    """Steady load after a burst that fills batches to their largest size: onnxruntime's
    arenas and the allocator's pools reach their working size here, not during the run."""
    await drive(
        server.address, model="fashion-mnist-conv", items=64, rate_per_s=300.0, duration_s=1.0
    )
    await steady_load(server, seconds)


def soak(warmup_s: float, measured_s: float, report: Path) -> tuple[float, float, list[str]]:
    """RSS (MiB) at the start and at the end of the measured run, and its status codes."""
    with ServeProcess(EMBEDDED_MODELS, "--intra-op-threads", "2") as server:
        server.start()
        asyncio.run(warm_up(server, warmup_s))
        results = asyncio.run(steady_load(server, measured_s))
    rss = [sample.rss_mib for sample in results[0].samples if sample.rss_mib > 0]
    start, end = statistics.median(rss[:3]), statistics.median(rss[-3:])
    codes = sorted({code for result in results for code in result.codes})
    report.write_text(json.dumps({"rss_mib": rss, "results": [r.to_dict() for r in results]}))
    print(f"soak {measured_s:g} s after {warmup_s:g} s warm-up: RSS {start:.1f} -> {end:.1f} MiB "
          f"({100 * (end / start - 1):+.2f} %), max {max(rss):.1f}; "
          f"outcomes {[r.codes for r in results]}; samples in {report}")  # fmt: skip
    return start, end, codes


def test_resident_memory_stays_flat_under_a_short_steady_load(tmp_path) -> None:
    start, end, codes = soak(warmup_s=2.0, measured_s=10.0, report=tmp_path / "soak.json")
    assert codes == ["OK"]
    assert end < start * (1 + MAX_GROWTH)


@pytest.mark.slow
def test_resident_memory_stays_flat_under_three_minutes_of_steady_load(tmp_path) -> None:
    start, end, codes = soak(warmup_s=30.0, measured_s=180.0, report=tmp_path / "soak.json")
    assert codes == ["OK"]
    assert end < start * (1 + MAX_GROWTH)
