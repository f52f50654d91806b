"""Standard ``grpc.health.v1`` statuses: liveness on "", readiness per service and model.

The empty name answers SERVING as soon as the process listens (liveness). The service name
``vaeserve.v1.VaeService`` and each model's name answer NOT_SERVING until their models are
loaded and warmed up (readiness). The stock servicer starts "" at SERVING and knows nothing
else, so every status is set explicitly before the server starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grpc_health.v1 import health, health_pb2

from vaeserve.v1 import vae_service_pb2 as pb

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["VaeService"].full_name
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _EndingHealthServicer(health.aio.HealthServicer):  # type: ignore[name-defined,misc]
    """The stock servicer, except that a Watch stream ends once it has sent NOT_SERVING on drain.

    The stock Watch never returns, so ``server.stop(grace)`` waits the whole grace period for
    every open stream (client-side health checking keeps one per channel). Ending the stream
    with OK right after the final NOT_SERVING tells the watcher all it needs and lets the
    process exit as soon as the real requests are done.
    """

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> None:
        name = request.service
        condition = self._server_watchers[name]
        self._watcher_count_by_service[name] += 1
        last_status = None
        try:
            async with condition:
                while True:
                    status = self._server_status.get(
                        name, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
                    )
                    if status != last_status:
                        await context.write(health_pb2.HealthCheckResponse(status=status))
                        last_status = status
                    if self._gracefully_shutting_down:
                        return
                    await condition.wait()
        finally:
            self._watcher_count_by_service[name] -= 1
            if self._watcher_count_by_service[name] == 0:
                del self._server_watchers[name]
                del self._watcher_count_by_service[name]

    async def enter_graceful_shutdown(self) -> None:
        await super().enter_graceful_shutdown()
        # Watchers of names never set (SERVICE_UNKNOWN) are not woken by the stock method.
        for condition in list(self._server_watchers.values()):
            async with condition:
                condition.notify_all()


class Health:
    def __init__(self) -> None:
        self.servicer = _EndingHealthServicer()

    async def starting(self, model_names: Iterable[str]) -> None:
        await self.servicer.set("", SERVING)
        for name in (SERVICE_NAME, *model_names):
            await self.servicer.set(name, NOT_SERVING)

    async def ready(self, name: str, is_ready: bool) -> None:
        await self.servicer.set(name, SERVING if is_ready else NOT_SERVING)

    async def draining(self) -> None:
        """Every name, "" included, turns NOT_SERVING and stays so."""
        await self.servicer.enter_graceful_shutdown()
