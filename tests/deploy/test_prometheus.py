"""Prometheus configuration and alerting rules, as promtool sees them."""

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture
def promtool(tool: Callable[[str], str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool("promtool"), *args], cwd=PROMETHEUS, capture_output=True, text=True
        )

    return run


def test_alerting_rules_pass_promtool_check(promtool: Callable[..., Any]) -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerting_rules_fire_as_their_unit_tests_expect(promtool: Callable[..., Any]) -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_passes_promtool_check(promtool: Callable[..., Any]) -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
