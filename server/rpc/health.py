"""``grpc.health.v1`` on the server's :class:`~vaeserve.server.health.HealthState`.

Built on the generated stubs (public API) rather than grpcio-health-checking's servicer,
whose private attributes this server would otherwise have to reach into. Check answers
NOT_FOUND for a name nobody set, as the standard asks; Watch sends SERVICE_UNKNOWN for
such a name and every change after, and ends once it has sent NOT_SERVING on drain, so an
open stream never holds ``server.stop(grace)`` for its whole grace period.
"""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from vaeserve.server.health import HealthState

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
HEALTH_SERVICE_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


def _wire_status(status: bool | None) -> Any:
    if status is None:
        return SERVICE_UNKNOWN
    return SERVING if status else NOT_SERVING


class HealthServicer(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    def __init__(self, state: HealthState) -> None:
        self._state = state

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        status = self._state.status(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=_wire_status(status))

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        async for status in self._state.watch(request.service):
            await context.write(health_pb2.HealthCheckResponse(status=_wire_status(status)))


def add_health_service(state: HealthState, server: grpc.aio.Server) -> None:
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(state), server)
