"""The GPU benchmark, proven on the CPU provider: every number it reports, and its verdicts.

``make gpu-check`` runs it with ``--provider cuda``; here the same code runs end to end on
the CPU provider with the tiny repository, so everything up to CUDA itself is exercised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vaeserve.bench.config import Scenario
from vaeserve.bench.gpu import GpuRun, GpuSettings, RawPoint, ServerRun, main, summary_of_tests
from vaeserve.bench.gpu import verdicts as gpu_verdicts
from vaeserve.bench.stats import LoadResult


@pytest.fixture(scope="module")
def report(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("gpu-bench")
    log = folder / "pytest.log"
    log.write_text("....\n==== 4 passed in 1.00s ====\n")
    argv = [
        *("--provider", "cpu", "--model-repository", str(tiny_repository)),
        *("--models", "tiny-grey", "--items", "1,4", "--workers", "1", "--concurrency", "2"),
        *("--duration", "0.1", "--warmup", "0.05", "--ort-seconds", "0.01"),
        *("--output", str(folder / "gpu.md"), "--tests-log", str(log)),
    ]
    assert main(argv) == 0
    return (folder / "gpu.md").read_text()


def _rows(report: str, title: str) -> list[list[str]]:
    section = report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")][2:]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


def test_the_report_names_the_cpu_stand_in_and_the_test_summary(report: str) -> None:
    assert "none: the CPU provider" in report
    assert "4 passed in 1.00s" in report


def test_every_method_and_request_size_is_measured_against_raw_onnxruntime(report: str) -> None:
    rows = _rows(report, "vaeserve images/s against raw onnxruntime")
    assert {(r[2], r[3]) for r in rows} == {
        ("Decode", "1"),
        ("Decode", "4"),
        ("Encode", "1"),
        ("Encode", "4"),
    }
    for row in rows:
        assert float(row[4].replace(",", "")) > 0 and float(row[5].replace(",", "")) > 0
        assert row[9] == "0"


def test_both_goals_are_judged_for_each_method(report: str) -> None:
    rows = _rows(report, "Goals")
    assert len(rows) == 4
    assert all(row[4] in ("met", "**missed**") for row in rows)


def _run(served_items_per_s: float, served_p50_ms: float) -> GpuRun:
    settings = GpuSettings(Path("."), Path("x.md"), models=("m",), items=(1, 1024))
    raw = [
        RawPoint("m", g, b, 10_000.0 * b, 0.1 * b)
        for g in ("decoder", "encoder")
        for b in (1, 1024)
    ]
    server = ServerRun(1)
    transport = {}
    for method in ("Decode", "Encode"):
        big = LoadResult(10, int(served_items_per_s), 1.0, 5.0, 6.0, 7.0)
        server.throughput[Scenario("m", method, 1024, settings.concurrency)] = big
        server.latency[Scenario("m", method, 1, 1)] = LoadResult(100, 100, 1.0, served_p50_ms, 1, 1)
        transport[Scenario("m", method, 1, 1)] = LoadResult(100, 100, 1.0, 0.4, 1, 1)
    return GpuRun(settings, "gpu", "ort", raw, [server], transport, "", "", 1.0)


def test_the_goals_are_met_near_raw_onnxruntime_and_the_transport_floor() -> None:
    # raw at 1024: 10,240,000 items/s; floor: 0.4 + 0.1 ms
    found = gpu_verdicts(_run(served_items_per_s=9_000_000, served_p50_ms=0.6))
    assert [v.met for v in found] == [True, True, True, True]


def test_the_goals_are_missed_far_from_raw_onnxruntime_and_the_floor() -> None:
    found = gpu_verdicts(_run(served_items_per_s=5_000_000, served_p50_ms=1.0))
    assert [v.met for v in found] == [False, False, False, False]


def test_the_test_summary_is_the_last_line_of_the_pytest_output(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("tests/gpu/test_cuda.py ss\n\n===== 2 skipped in 0.1s =====\n")
    assert summary_of_tests(log) == "2 skipped in 0.1s"
    assert summary_of_tests(None) == "not run with this benchmark"
