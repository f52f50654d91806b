"""Run the server in the foreground until SIGTERM or SIGINT, then drain and exit 0.

One process by default; with ``--workers`` above 1 this process becomes the supervisor of
that many serving processes (:mod:`vaeserve.server.supervisor`) and never loads grpc itself,
so the gRPC server is imported only on the single-process path.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from vaeserve.server.cpus import cpu_limit
from vaeserve.server.malloc_arenas import cap_malloc_arenas
from vaeserve.server.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    logging.getLogger().setLevel(settings.log_level)
    workers = settings.workers or cpu_limit()
    if workers > 1:
        from vaeserve.server.supervisor import supervise

        return supervise(settings, workers)
    cap_malloc_arenas()  # before the first worker thread exists
    return asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> int:
    from vaeserve.server.app import create_server

    server, _ = await create_server(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    await server.load_models()
    await stop.wait()
    log.info("stopping: draining in-flight requests for up to %.1f s", settings.grace_period_s)
    await server.stop()
    log.info("stopped")
    return 0
