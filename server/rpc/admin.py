"""The gRPC servicer of ``vaeserve.admin.v1.AdminService``: one line per RPC into
:class:`~vaeserve.server.dataplane.admin.AdminHandlers`, through the same
:func:`~vaeserve.server.rpc.status.rpc` wrapper as the data plane (status codes, counting).

Registered on the main server only, where the bearer-token interceptor covers every service
but health; the health-only port never serves it.
"""

from __future__ import annotations

from typing import Any

import grpc

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.server.dataplane.admin import AdminHandlers
from vaeserve.server.metrics import Metrics
from vaeserve.server.rpc.status import rpc

Context = grpc.aio.ServicerContext[Any, Any]


class AdminServicer(admin_grpc.AdminServiceServicer):
    def __init__(self, handlers: AdminHandlers, metrics: Metrics) -> None:
        self.handlers = handlers
        self.metrics = metrics

    @rpc("LoadModel")
    async def LoadModel(
        self, request: admin_pb.LoadModelRequest, context: Context
    ) -> admin_pb.LoadModelResponse:
        return await self.handlers.load_model(request)

    @rpc("UnloadModel")
    async def UnloadModel(
        self, request: admin_pb.UnloadModelRequest, context: Context
    ) -> admin_pb.UnloadModelResponse:
        return await self.handlers.unload_model(request)

    @rpc("RepositoryIndex")
    async def RepositoryIndex(
        self, request: admin_pb.RepositoryIndexRequest, context: Context
    ) -> admin_pb.RepositoryIndexResponse:
        return await self.handlers.repository_index(request)
