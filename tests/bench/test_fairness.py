"""The fairness scenario: phases, alternating variants, verdicts, and a quick real run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vaeserve.bench.fairness import (
    FairnessRun,
    FairnessSettings,
    Phase,
    PhaseResult,
    RoundResult,
    Variant,
    verdicts,
)
from vaeserve.bench.stats import LoadResult
from vaeserve.cli import main

A, B = Variant("a", ("--no-fair-share",)), Variant("b")


def _settings(**overrides: object) -> FairnessSettings:
    values: dict[str, object] = {"repository": Path("."), "output": Path("x.md")}
    values.update(overrides)
    return FairnessSettings(**values)  # type: ignore[arg-type]


def _result(calls_per_s: float, p99_ms: float, items: int = 1) -> LoadResult:
    calls = int(calls_per_s * 10)
    return LoadResult(calls, calls * items, 10.0, p99_ms / 2, p99_ms, p99_ms)


def test_light_and_heavy_run_alone_before_they_run_together() -> None:
    phases = _settings(heavy_clients=(1, 2)).phases()
    assert [p.title for p in phases] == [
        "light alone",
        "1 heavy alone",
        "2 heavy alone",
        "light + 1 heavy",
        "light + 2 heavy",
    ]


def test_variants_take_turns_in_alternating_order() -> None:
    settings = _settings(variants=(A, B))
    assert [settings.order(n) for n in range(3)] == [(A, B), (B, A), (A, B)]


def _run(light_beside: float, p99_beside: float, heavy_beside: float) -> FairnessRun:
    settings = _settings(heavy_clients=(2,), variants=(B,), rounds=1)
    heavy_alone = (_result(5, 100, 1024), _result(5, 100, 1024))
    heavy_beside_each = _result(heavy_beside / 2 / 1024, 200, 1024)
    found = RoundResult("b", 0, 0.0)
    found.phases = {
        Phase(True, 0): PhaseResult(_result(900, 10)),
        Phase(False, 2): PhaseResult(None, heavy_alone),
        Phase(True, 2): PhaseResult(
            _result(light_beside, p99_beside), (heavy_beside_each, heavy_beside_each)
        ),
    }
    return FairnessRun(settings, [found], {}, 1.0)


def test_the_goals_are_met_when_everyone_keeps_a_fair_share() -> None:
    found = verdicts(_run(light_beside=400, p99_beside=30, heavy_beside=6000))
    assert [v.met for v in found] == [True, True, True]


def test_the_goals_are_missed_when_the_light_client_is_starved() -> None:
    found = verdicts(_run(light_beside=100, p99_beside=120, heavy_beside=6000))
    assert [v.met for v in found] == [False, False, True]
    assert found[0].measured == pytest.approx(100 / 900)


def test_the_goal_is_missed_when_the_heavy_clients_lose_more_than_half() -> None:
    found = verdicts(_run(light_beside=900, p99_beside=10, heavy_beside=4000))
    assert found[2].met is False


def test_a_malformed_client_spec_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    argv = [
        "bench",
        "--fairness",
        "--light",
        "tiny-grey:Decode:1",
        "--output",
        str(tmp_path / "f.md"),
    ]
    assert main(argv) == 2


@pytest.fixture(scope="module")
def quick_report(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("fairness") / "fairness.md"
    argv = [
        *("bench", "--fairness", "--quick", "--model-repository", str(tiny_repository)),
        *("--light", "tiny-grey:Decode:1:2", "--heavy", "tiny-rgb:Decode:64:1"),
        *("--heavy-clients", "1", "--output", str(output)),
    ]
    assert main(argv) == 0
    return output


def test_a_quick_run_judges_both_default_variants(quick_report: Path) -> None:
    text = quick_report.read_text()
    goal_rows = [ln for ln in text.splitlines() if "/ alone |" in ln]
    assert len(goal_rows) == 6  # three goals, two variants
    assert any(ln.startswith("| before |") for ln in goal_rows)
    assert any(ln.startswith("| fair-share |") for ln in goal_rows)


def test_a_quick_run_measures_every_client_of_every_phase(quick_report: Path) -> None:
    data = json.loads(quick_report.with_suffix(".json").read_text())
    assert len(data["rounds"]) == 2
    for found in data["rounds"]:
        for phase in found["phases"]:
            clients = ([phase["light"]] if phase["phase"]["light"] else []) + phase["heavy"]
            assert len(phase["heavy"]) == phase["phase"]["heavy"]
            for client in clients:
                assert client["requests"] > 0 and not client["errors"]
                assert math.isfinite(client["p99_ms"])


def test_a_run_without_a_scenario_model_says_which(tmp_path: Path, tiny_repository: Path) -> None:
    argv = [
        *("bench", "--fairness", "--quick", "--model-repository", str(tiny_repository)),
        *("--light", "missing:Decode:1:1", "--output", str(tmp_path / "f.md")),
    ]
    assert main(argv) == 1
