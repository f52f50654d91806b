"""`vaeserve bench-http`: one short real run on the tiny models, and the report's arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys

from vaeserve.bench.http import medians


def test_a_short_run_measures_both_protocols_and_writes_the_report(tiny_repository, tmp_path):
    output = tmp_path / "http.md"
    command = [
        *(sys.executable, "-m", "vaeserve", "bench-http"),
        *("--model-repository", str(tiny_repository), "--model", "tiny-grey"),
        *("--items", "1,256", "--concurrency", "2", "--rounds", "2"),
        *("--duration", "0.2", "--warmup", "0.05", "--output", str(output)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = output.read_text()
    assert "| 1 | 2 |" in report and "| 256 | 2 |" in report
    assert "HTTP's p50 is" in report and "HTTP reaches" in report
    raw = json.loads(output.with_suffix(".json").read_text())
    for scenario in ("1x2", "256x2"):
        for protocol in ("grpc", "http"):
            rounds = raw[scenario][protocol]
            assert len(rounds) == 2
            assert all(r["requests"] > 0 and not r["errors"] for r in rounds)


def test_medians_are_taken_over_rounds() -> None:
    rounds = [
        {"items": items, "seconds": 1.0, "p50_ms": p50, "p99_ms": 2 * p50, "errors": {}}
        for items, p50 in [(100, 1.0), (300, 3.0), (200, 2.0)]
    ]
    assert medians(rounds) == {"items_per_s": 200.0, "p50_ms": 2.0, "p99_ms": 4.0, "errors": 0}
