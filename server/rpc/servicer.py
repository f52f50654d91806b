"""The gRPC servicer of ``vaeserve.v1.VaeService``: each RPC is one line into the dataplane.

:class:`~vaeserve.server.dataplane.handlers.VaeHandlers` holds the behaviour; this class
adds what only gRPC knows: whether the call is still wanted (its context), and the
:func:`~vaeserve.server.rpc.status.rpc` wrapper that counts the call and turns errors into
status codes.
"""

from __future__ import annotations

from typing import Any

import grpc

from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.inference.queued_request import WhyAbandoned
from vaeserve.server.metrics import Metrics
from vaeserve.server.rpc.status import rpc
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]


def abandonment_of(context: Context) -> WhyAbandoned:
    """What the batcher asks before computing a request's items, answered by its context."""

    def why_abandoned() -> str | None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return "deadline_exceeded"
        return "cancelled" if context.cancelled() else None

    return why_abandoned


class VaeServicer(pb_grpc.VaeServiceServicer):
    def __init__(self, handlers: VaeHandlers, metrics: Metrics) -> None:
        self.handlers = handlers
        self.metrics = metrics

    @rpc("Encode")
    async def Encode(self, request: pb.EncodeRequest, context: Context) -> pb.EncodeResponse:
        return await self.handlers.encode(request, abandonment_of(context))

    @rpc("Decode")
    async def Decode(self, request: pb.DecodeRequest, context: Context) -> pb.DecodeResponse:
        return await self.handlers.decode(request, abandonment_of(context))

    @rpc("Sample")
    async def Sample(self, request: pb.SampleRequest, context: Context) -> pb.SampleResponse:
        return await self.handlers.sample(request, abandonment_of(context))

    @rpc("Interpolate")
    async def Interpolate(
        self, request: pb.InterpolateRequest, context: Context
    ) -> pb.InterpolateResponse:
        return await self.handlers.interpolate(request, abandonment_of(context))

    @rpc("Reconstruct")
    async def Reconstruct(
        self, request: pb.ReconstructRequest, context: Context
    ) -> pb.ReconstructResponse:
        return await self.handlers.reconstruct(request, abandonment_of(context))

    @rpc("ListModels")
    async def ListModels(
        self, request: pb.ListModelsRequest, context: Context
    ) -> pb.ListModelsResponse:
        return await self.handlers.list_models(request)

    @rpc("GetModelInfo")
    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: Context
    ) -> pb.GetModelInfoResponse:
        return await self.handlers.get_model_info(request)
