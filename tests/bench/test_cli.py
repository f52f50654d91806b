"""`vaeserve bench --quick` end to end: real servers on loopback, a real tiny model.

One quick run (module fixture) drives all four targets; each test reads one property of the
report it wrote. Speeds are never asserted, only that every number is there and sane.
"""

import json
import math
import re
from pathlib import Path

import pytest

from vaeserve.cli import main

TARGET_SECTIONS = (
    "vaeserve, batching on",
    "vaeserve, batching off",
    "Naive server (one onnxruntime call per request)",
    "Transport ceiling (answers without computing)",
)
SECTIONS = ("Goals", "Processes", "In-process onnxruntime (the compute limit)", "Ratios")
# tiny-grey of the shared tiny repository (tests/conftest.py): 1x8x8 images, latent 2.
QUICK_FLAGS = ["--quick", "--duration", "0.2", "--warmup", "0.05", "--models", "tiny-grey"]


@pytest.fixture(scope="module")
def report_path(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bench-report") / "benchmark.md"
    argv = ["bench", *QUICK_FLAGS, "--model-repository", str(tiny_repository)]
    assert main([*argv, "--output", str(output)]) == 0
    return output


@pytest.fixture(scope="module")
def report(report_path: Path) -> str:
    return report_path.read_text()


def _sections(text: str) -> dict[str, list[list[str]]]:
    """Every '## title' of the report and the data rows of the table under it."""
    sections: dict[str, list[list[str]]] = {}
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            rows = sections.setdefault(line[3:].strip(), [])
        elif line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return {title: table[1:] for title, table in sections.items()}  # drop header rows


def _number(cell: str) -> float:
    return float(cell.replace(",", "").split(" ")[0])


def test_quick_run_writes_every_table(report: str):
    sections = _sections(report)
    for title in (*SECTIONS, *TARGET_SECTIONS):
        assert sections.get(title), f"the report has no table under '## {title}'"


def test_quick_run_measures_every_scenario_on_every_target(report: str):
    sections = _sections(report)
    # 1 model x 3 methods x 2 request sizes x 2 concurrencies
    for title in TARGET_SECTIONS:
        assert len(sections[title]) == 12, title


def test_every_throughput_and_latency_is_positive_and_finite(report: str):
    for title in TARGET_SECTIONS:
        for row in _sections(report)[title]:
            numbers = [_number(cell) for cell in row[4:9]]  # req/s, items/s, p50, p95, p99
            assert all(math.isfinite(n) and n > 0 for n in numbers), (title, row)
            assert row[9] == "0", f"{title}: errors in {row}"


def test_every_ratio_is_computed(report: str):
    for row in _sections(report)["Ratios"]:
        assert all(math.isfinite(_number(cell)) and _number(cell) > 0 for cell in row[4:]), row


def test_in_process_onnxruntime_is_timed_for_both_graphs(report: str):
    rows = _sections(report)["In-process onnxruntime (the compute limit)"]
    assert {row[1] for row in rows} == {"decoder", "encoder"}
    assert all(_number(cell) > 0 for row in rows for cell in row[2:])


def test_every_goal_gets_a_verdict(report: str):
    verdicts = {row[4] for row in _sections(report)["Goals"]}
    assert verdicts <= {"met", "**missed**"}, verdicts


def test_the_server_process_never_imports_torch(report: str):
    rows = {row[0]: row for row in _sections(report)["Processes"]}
    for target in ("vaeserve", "vaeserve-unbatched"):
        assert rows[target][3] == "no"
        assert 0 < _number(rows[target][1]) < 120  # cold start, seconds
        assert _number(rows[target][2]) > 0  # peak RSS, MiB


def test_raw_numbers_are_written_beside_the_report(report_path: Path):
    raw = json.loads(report_path.with_suffix(".json").read_text())
    assert set(raw["targets"]) == {"vaeserve", "vaeserve-unbatched", "naive", "transport"}
    assert all(len(target["results"]) == 12 for target in raw["targets"].values())


def test_bench_names_a_model_the_repository_lacks(tiny_repository: Path, tmp_path: Path, capsys):
    argv = ["bench", "--quick", "--models", "absent", "--model-repository", str(tiny_repository)]
    assert main([*argv, "--output", str(tmp_path / "report.md")]) == 1
    assert re.search(r"no version of model 'absent'", capsys.readouterr().err)
    assert not (tmp_path / "report.md").exists()
