"""A short headless Locust run against a real server: every call answered, none failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUN_TIME = "8s"
MAX_REQUESTS = 50_000  # a bound beside the time: a fast machine stops early


def run_locust(
    address: str, out: Path
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    command = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "--host", address, "--users", "4", "--spawn-rate", "4", "--run-time", RUN_TIME,
        "--max-requests", str(MAX_REQUESTS), "--json-file", str(out / "stats"),
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=120)
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else []
    return done, stats


def test_a_short_locust_run_has_no_failures(small_queue_server, tmp_path) -> None:
    done, stats = run_locust(small_queue_server.address, tmp_path)
    requests = {entry["name"]: entry["num_requests"] for entry in stats}
    failures = sum(entry["num_failures"] for entry in stats)
    assert done.returncode == 0, done.stdout + done.stderr
    assert failures == 0, done.stdout
    assert set(requests) == {"Decode 8", "Sample 4 conv", "Encode 4"}
    assert all(count > 0 for count in requests.values())
