"""`vaeserve bench --workers 1,2`: one quick comparison of worker counts on a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaeserve.bench.config import CHANNELS_PER_WORKER, BenchSettings
from vaeserve.bench.workers import channels_for
from vaeserve.cli import main

FLAGS = [
    *("--quick", "--duration", "0.1", "--warmup", "0.05", "--models", "tiny-grey"),
    *("--methods", "Decode", "--items", "1", "--concurrency", "4"),
    *("--workers", "1,2", "--rounds", "2"),
]


@pytest.fixture(scope="module")
def report(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    output = tmp_path_factory.mktemp("bench-workers") / "workers.md"
    argv = ["bench", *FLAGS, "--model-repository", str(tiny_repository), "--output", str(output)]
    assert main(argv) == 0
    return output.read_text()


def table_rows(report: str, title: str) -> list[list[str]]:
    section = report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # drop header and rule


def test_the_medians_compare_every_worker_count(report: str) -> None:
    rows = table_rows(report, "Medians")
    assert [row[4] for row in rows] == ["1", "2"]
    assert all(float(row[5].replace(",", "")) > 0 for row in rows)
    assert (rows[0][9], rows[0][10]) == ("1.00", "1.00")


def test_every_round_of_every_worker_count_is_reported(report: str) -> None:
    rows = table_rows(report, "Every round (req/s)")
    assert [len(row[5].split(", ")) for row in rows] == [2, 2]


def test_the_load_generator_opens_several_connections_per_worker(tmp_path: Path) -> None:
    settings = BenchSettings(repository=tmp_path, output=tmp_path / "r.md", workers=(1, 2))
    assert channels_for(settings) == 2 * CHANNELS_PER_WORKER


def test_a_server_started_with_workers_gets_several_channels_per_worker(tmp_path: Path) -> None:
    settings = BenchSettings(
        repository=tmp_path, output=tmp_path / "r.md", server_args=("--workers", "3")
    )
    assert (settings.load_channels(), BenchSettings(tmp_path, tmp_path).load_channels()) == (
        3 * CHANNELS_PER_WORKER,
        1,
    )
