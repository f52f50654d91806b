"""``vaeserve.admin.v1.AdminService`` without a protocol: load, unload, repository index.

Protobuf messages in and out, errors raised from the error tree; the model control
(:mod:`vaeserve.server.model_control`) does the work and owns the rules (which mode allows
what, which names are models). The gRPC front is :mod:`vaeserve.server.rpc.admin`.
"""

from __future__ import annotations

from typing import Any

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.inference.model_table import FAILED, LOADING, READY
from vaeserve.server.model_control import AVAILABLE, UNLOADING, IndexEntry, ModelControl

ADMIN_SERVICE_NAME: str = admin_pb.DESCRIPTOR.services_by_name["AdminService"].full_name
_STATES = {
    AVAILABLE: admin_pb.VERSION_STATE_AVAILABLE,
    LOADING: admin_pb.VERSION_STATE_LOADING,
    READY: admin_pb.VERSION_STATE_READY,
    FAILED: admin_pb.VERSION_STATE_FAILED,
    UNLOADING: admin_pb.VERSION_STATE_UNLOADING,
}


class AdminHandlers:
    """The admin service's behaviour; shares the data plane's drain state."""

    def __init__(self, control: ModelControl, data_plane: VaeHandlers) -> None:
        self._control = control
        self._data_plane = data_plane

    def check_accepting(self) -> None:
        self._data_plane.check_accepting()

    def model_label(self, request: Any) -> str:
        return self._data_plane.model_label(request)

    async def load_model(self, request: admin_pb.LoadModelRequest) -> admin_pb.LoadModelResponse:
        state = await self._control.load(request.model_name, request.model_version)
        return admin_pb.LoadModelResponse(
            model=admin_pb.RepositoryEntry(
                name=state.entry.name,
                version=state.entry.version,
                state=_STATES[state.state],
                reason=state.public_reason,
                in_repository=True,
            )
        )

    async def unload_model(
        self, request: admin_pb.UnloadModelRequest
    ) -> admin_pb.UnloadModelResponse:
        running = await self._control.unload(request.model_name, request.model_version)
        return admin_pb.UnloadModelResponse(drained_requests=running)

    async def repository_index(
        self, request: admin_pb.RepositoryIndexRequest
    ) -> admin_pb.RepositoryIndexResponse:
        return admin_pb.RepositoryIndexResponse(
            models=[_entry(e) for e in await self._control.index()]
        )


def _entry(entry: IndexEntry) -> admin_pb.RepositoryEntry:
    return admin_pb.RepositoryEntry(
        name=entry.name,
        version=entry.version,
        state=_STATES[entry.state],
        reason=entry.reason,
        in_repository=entry.in_repository,
    )
