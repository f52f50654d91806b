"""Cap glibc's malloc arenas, the cheapest cut to the server's peak resident memory.

glibc gives each thread that meets contention its own arena (up to 8 per core). The gRPC
threads, the inference workers and onnxruntime all allocate request-sized buffers (a
256-image request is 800 KB), and every arena keeps the high-water mark of what passed
through it. Capping the arenas at two measured 366 -> 330 MiB peak RSS under 64 concurrent
256-image requests, with no loss of throughput (reports/performance-notes.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

ARENA_VARIABLE = "MALLOC_ARENA_MAX"
DEFAULT_ARENAS = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h


def cap_malloc_arenas(environ: os._Environ[str] | dict[str, str] = os.environ) -> int | None:
    """Cap the arenas at DEFAULT_ARENAS unless the operator chose through MALLOC_ARENA_MAX.

    Returns the cap applied, or None where nothing was done: the variable is set (glibc
    has read it already) or the C library is not glibc (musl has no arenas to cap).
    """
    if ARENA_VARIABLE in environ:
        return None
    mallopt = _glibc_function("mallopt")
    if mallopt is None or mallopt(_M_ARENA_MAX, DEFAULT_ARENAS) != 1:
        return None
    log.debug("malloc arenas capped at %d (set %s to choose)", DEFAULT_ARENAS, ARENA_VARIABLE)
    return DEFAULT_ARENAS


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``).

    Called after a model version is unloaded: its sessions' memory is free by then, but
    glibc keeps freed pages in its arenas, so the process's resident size would not show
    it. Returns False where there is no glibc to ask.
    """
    trim = _glibc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def _glibc_function(name: str) -> Any:
    """The C library's function ``name``, or None where there is no such C library or
    function (musl has neither ``mallopt``'s arenas nor ``malloc_trim``)."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        return getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None


__all__ = ["ARENA_VARIABLE", "DEFAULT_ARENAS", "cap_malloc_arenas", "release_free_memory"]
