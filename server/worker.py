"""One of several serving processes, spawned and watched by :mod:`vaeserve.server.supervisor`.

A worker is a whole server -- gRPC, health, batchers, models -- built by
``create_server(settings, worker=slot)``, which shares its ports with the other workers
through SO_REUSEPORT, gates its readiness on the others and counts its calls under its
slot. Its metrics go to the supervisor's multiprocess directory (the supervisor set
``PROMETHEUS_MULTIPROC_DIR`` before spawning it), and it serves no /metrics of its own.
It is spawned, not forked, so it starts with no gRPC state from the parent, as grpcio
requires.

It talks to the supervisor over one pipe:

    worker -> supervisor   ("ready",)           models loaded and warmed up
                           ("failed", message)  a start-up error; the worker then exits 3
    supervisor -> worker   ("gate", open)       whether every worker is warm

SIGTERM or SIGINT drains it as they drain a lone server; so does the pipe closing, which
means the supervisor is gone and nobody would otherwise ever stop it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from multiprocessing.connection import Connection

from vaeserve.server.app import create_server
from vaeserve.server.errors import StartupError
from vaeserve.server.health import HealthState
from vaeserve.server.malloc_arenas import cap_malloc_arenas
from vaeserve.server.settings import Settings

log = logging.getLogger(__name__)

STARTUP_FAILED = 3


def run_worker(settings: Settings, slot: int, pipe: Connection) -> None:
    """The worker process's whole life: serve until told to stop, then exit."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    cap_malloc_arenas()  # before the first worker thread exists
    try:
        code = asyncio.run(_serve(settings, slot, pipe))
    except StartupError as error:
        pipe.send(("failed", str(error)))
        code = STARTUP_FAILED
    sys.exit(code)


async def _serve(settings: Settings, slot: int, pipe: Connection) -> int:
    server, _ = await create_server(settings, worker=slot)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listener = _SupervisorListener(pipe, server.health, stop)
    loop.add_reader(pipe.fileno(), listener.on_readable)
    await server.start()
    await server.load_models()
    pipe.send(("ready",))
    await stop.wait()
    loop.remove_reader(pipe.fileno())
    log.info("stopping: draining in-flight requests for up to %.1f s", settings.grace_period_s)
    await server.stop()
    log.info("stopped")
    return 0


class _SupervisorListener:
    """Applies the supervisor's messages as they arrive on the event loop."""

    def __init__(self, pipe: Connection, health: HealthState, stop: asyncio.Event) -> None:
        self._pipe = pipe
        self._health = health
        self._stop = stop
        self._pending: set[asyncio.Task[None]] = set()

    def on_readable(self) -> None:
        try:
            kind, value = self._pipe.recv()
        except (EOFError, OSError):  # the supervisor is gone: drain, as on SIGTERM
            asyncio.get_running_loop().remove_reader(self._pipe.fileno())
            if not self._stop.is_set():
                log.warning("the supervisor is gone: stopping")
            self._stop.set()
            return
        if kind == "gate":
            task = asyncio.create_task(self._health.set_gate(bool(value)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
