"""The malloc arena cap: applied by default on glibc, left alone when the operator chose."""

from __future__ import annotations

import platform

import pytest

from vaeserve.server.malloc_arenas import ARENA_VARIABLE, DEFAULT_ARENAS, cap_malloc_arenas


def test_an_operators_malloc_arena_max_is_left_alone() -> None:
    assert cap_malloc_arenas({ARENA_VARIABLE: "8"}) is None


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="only glibc has arenas to cap")
def test_arenas_are_capped_by_default_on_glibc() -> None:
    assert cap_malloc_arenas({}) == DEFAULT_ARENAS
