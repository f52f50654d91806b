"""Fixtures of the load tests: a real `vaeserve serve` process on the embedded models.

The server runs as a process of its own so that its resident memory is its own, and the
drivers here (open_loop.py, capacity.py, locustfile.py) are importable as ``tests.load.*``
and runnable by hand (``python -m tests.load.capacity``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve_process import EMBEDDED_MODELS, ServeProcess

HERE = Path(__file__).resolve().parent
# Items a model graph may queue: one full batch of the default size. The overload test
# shows that this keeps admitted latency near one batch time; server/README.md says so.
SMALL_QUEUE_ITEMS = 256


@pytest.fixture(scope="module")
def small_queue_server() -> Iterator[ServeProcess]:
    """`vaeserve serve` on the embedded models with a queue of SMALL_QUEUE_ITEMS per graph."""
    flags = (
        *("--max-queue-size", str(SMALL_QUEUE_ITEMS)),
        *("--max-items-per-request", str(SMALL_QUEUE_ITEMS)),
        *("--intra-op-threads", "2"),
    )
    with ServeProcess(EMBEDDED_MODELS, *flags) as server:
        yield server.start()
