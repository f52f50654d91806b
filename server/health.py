"""Standard ``grpc.health.v1`` statuses: liveness on "", readiness per service and model.

The empty name answers SERVING as soon as the process listens (liveness). The service name
``vaeserve.v1.VaeService`` and each model's name answer NOT_SERVING until their models are
loaded and warmed up (readiness). The stock servicer starts "" at SERVING and knows nothing
else, so every status is set explicitly before the server starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from vaeserve.v1 import vae_service_pb2 as pb

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["VaeService"].full_name
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Health:
    def __init__(self) -> None:
        # grpc_health ships no type information for its asyncio servicer.
        self.servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]

    async def starting(self, model_names: Iterable[str]) -> None:
        await self.servicer.set("", SERVING)
        for name in (SERVICE_NAME, *model_names):
            await self.servicer.set(name, NOT_SERVING)

    async def ready(self, name: str, is_ready: bool) -> None:
        await self.servicer.set(name, SERVING if is_ready else NOT_SERVING)

    async def draining(self) -> None:
        """Every name, "" included, turns NOT_SERVING and stays so."""
        await self.servicer.enter_graceful_shutdown()
