"""Fixtures of the fault tests: the load drivers of tests/load are importable from here."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(TESTS / "load"))
