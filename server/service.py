"""The gRPC servicer of ``vaeserve.v1.VaeService``: one short method per RPC.

Each method validates and converts the request to numpy (:mod:`vaeserve.server.codec`),
awaits the model's batchers, and builds the reply. Errors are raised, never returned;
:func:`vaeserve.server.edge.rpc` maps them to status codes.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import grpc
import numpy as np

from vaeserve.server import codec, latent
from vaeserve.server.batcher import Wanted
from vaeserve.server.edge import rpc
from vaeserve.server.errors import InvalidArgumentError, UnavailableError
from vaeserve.server.metrics import Metrics
from vaeserve.server.runtime import FAILED, LOADING, READY, ModelTable, ServedModel
from vaeserve.server.settings import Settings
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]
MAX_TEMPERATURE = 10.0
_STATES = {
    LOADING: pb.MODEL_STATE_LOADING,
    READY: pb.MODEL_STATE_READY,
    FAILED: pb.MODEL_STATE_FAILED,
}


def wanted_by(context: Context) -> Wanted:
    """A check the batcher can call without knowing gRPC: is this request still wanted?"""

    def wanted() -> str | None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return "deadline_exceeded"
        return "cancelled" if context.cancelled() else None

    return wanted


class VaeService(pb_grpc.VaeServiceServicer):
    def __init__(
        self,
        table: ModelTable,
        settings: Settings,
        metrics: Metrics,
        executor: Executor,
        max_request_bytes: int,
    ) -> None:
        self.table = table
        self.metrics = metrics
        self._settings = settings
        self._executor = executor
        self._max_request_bytes = max_request_bytes
        self._accepting = True

    def stop_accepting(self) -> None:
        self._accepting = False

    def check_accepting(self) -> None:
        if not self._accepting:
            raise UnavailableError("the server is shutting down; retry on another replica")

    def model_label(self, request: Any) -> str:
        """The model name as a metric label; unknown names collapse to one label value."""
        name = getattr(request, "model_name", "")
        return name if name in self.table.versions else ("" if not name else "unknown")

    @rpc("Encode")
    async def Encode(self, request: pb.EncodeRequest, context: Context) -> pb.EncodeResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        images = await self._images_in(request.images, model, "images")
        mean, log_var = await model.encode(images, wanted_by(context))
        reply = pb.EncodeResponse(
            model_name=model.manifest.name, model_version=model.manifest.version
        )
        codec.fill_tensor(reply.mean, mean)
        codec.fill_tensor(reply.log_var, log_var)
        if request.sample:
            seed = request.seed if request.HasField("seed") else latent.new_seed()
            codec.fill_tensor(reply.z, latent.reparameterise(mean, log_var, seed))
            reply.seed = seed
        return reply

    @rpc("Decode")
    async def Decode(self, request: pb.DecodeRequest, context: Context) -> pb.DecodeResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        latents = self._latents_in(request.latents, model, "latents")
        images = await model.decode(latents, wanted_by(context))
        reply = pb.DecodeResponse(
            model_name=model.manifest.name, model_version=model.manifest.version
        )
        await self._images_out(reply.images, images, request.image_format)
        return reply

    @rpc("Sample")
    async def Sample(self, request: pb.SampleRequest, context: Context) -> pb.SampleResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        if request.count < 1:
            raise InvalidArgumentError("count must be at least 1")
        codec.check_item_count(request.count, self._settings.max_items_per_request, "count")
        temperature = request.temperature if request.HasField("temperature") else 1.0
        if not (math.isfinite(temperature) and 0.0 <= temperature <= MAX_TEMPERATURE):
            raise InvalidArgumentError(
                f"temperature must be a finite number in [0, {MAX_TEMPERATURE:g}], "
                f"got {temperature}"
            )
        seed = request.seed if request.HasField("seed") else latent.new_seed()
        latents = latent.sample_prior(request.count, model.manifest.latent_dim, temperature, seed)
        images = await model.decode(latents, wanted_by(context))
        reply = pb.SampleResponse(
            model_name=model.manifest.name, model_version=model.manifest.version, seed=seed
        )
        codec.fill_tensor(reply.latents, latents)
        await self._images_out(reply.images, images, request.image_format)
        return reply

    @rpc("Interpolate")
    async def Interpolate(
        self, request: pb.InterpolateRequest, context: Context
    ) -> pb.InterpolateResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        if request.steps < 2:
            raise InvalidArgumentError("steps must be at least 2 (both endpoints included)")
        codec.check_item_count(request.steps, self._settings.max_items_per_request, "steps")
        ends = await self._endpoints(request, model, wanted_by(context))
        walk = (
            latent.spherical_path
            if request.method == pb.INTERPOLATION_METHOD_SPHERICAL
            else latent.linear_path
        )
        path = walk(ends[0], ends[1], request.steps)
        images = await model.decode(path, wanted_by(context))
        reply = pb.InterpolateResponse(
            model_name=model.manifest.name, model_version=model.manifest.version
        )
        codec.fill_tensor(reply.latents, path)
        await self._images_out(reply.images, images, request.image_format)
        return reply

    @rpc("Reconstruct")
    async def Reconstruct(
        self, request: pb.ReconstructRequest, context: Context
    ) -> pb.ReconstructResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        images = await self._images_in(request.images, model, "images")
        mean, _ = await model.encode(images, wanted_by(context))
        decoded = await model.decode(mean, wanted_by(context))
        reply = pb.ReconstructResponse(
            model_name=model.manifest.name, model_version=model.manifest.version
        )
        await self._images_out(reply.images, decoded, request.image_format)
        codec.fill_tensor(reply.mean, mean)
        return reply

    @rpc("ListModels")
    async def ListModels(
        self, request: pb.ListModelsRequest, context: Context
    ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(
            models=[
                pb.ModelVersionStatus(
                    name=s.entry.name,
                    version=s.entry.version,
                    state=_STATES[s.state],
                    reason=s.public_reason,
                )
                for s in self.table.all_states()
            ]
        )

    @rpc("GetModelInfo")
    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: Context
    ) -> pb.GetModelInfoResponse:
        model = self.table.lookup(request.model_name, request.model_version)
        manifest = model.manifest
        channels, height, width = model.image_shape
        return pb.GetModelInfoResponse(
            name=manifest.name,
            version=manifest.version,
            versions=self.table.ready_versions(manifest.name),
            latent_dim=manifest.latent_dim,
            channels=channels,
            height=height,
            width=width,
            likelihood=manifest.likelihood,
            dataset=manifest.dataset,
            class_names=list(manifest.class_names),
            execution_provider=model.provider,
            test_negative_elbo_nats=manifest.training.test_negative_elbo_nats,
            epochs=manifest.training.epochs,
            max_items_per_request=self._settings.max_items_per_request,
            max_request_bytes=self._max_request_bytes,
            manifest_json=manifest.to_json(),
        )

    async def _images_in(self, images: pb.Images, model: ServedModel, what: str) -> np.ndarray:
        kind = images.WhichOneof("content")
        limit = self._settings.max_items_per_request
        if kind == "tensor":
            array = codec.tensor_to_array(images.tensor, model.image_shape, what, limit)
            codec.check_pixel_range(array, what)
            return array
        if kind == "png":
            decoded: np.ndarray = await self._off_loop(
                lambda: codec.decode_pngs(
                    images.png.images,
                    model.image_shape,
                    max_items=limit,
                    max_png_bytes=self._settings.max_png_bytes,
                    max_pixels=self._settings.max_image_pixels,
                )
            )
            return decoded
        raise InvalidArgumentError(f"{what} is required: send a tensor or PNG files")

    def _latents_in(self, tensor: pb.Tensor, model: ServedModel, what: str) -> np.ndarray:
        return codec.tensor_to_array(
            tensor, (model.manifest.latent_dim,), what, self._settings.max_items_per_request
        )

    async def _endpoints(
        self, request: pb.InterpolateRequest, model: ServedModel, wanted: Wanted
    ) -> np.ndarray:
        kind = request.WhichOneof("endpoints")
        if kind is None:
            raise InvalidArgumentError("send the two endpoints as images or as latents")
        if kind == "latents":
            ends = self._latents_in(request.latents, model, "latents")
        else:
            images = await self._images_in(request.images, model, "images")
            if images.shape[0] != 2:
                raise InvalidArgumentError(f"images must hold exactly 2, got {images.shape[0]}")
            ends = (await model.encode(images, wanted))[0]
        if ends.shape[0] != 2:
            raise InvalidArgumentError(f"latents must hold exactly 2 items, got {ends.shape[0]}")
        return ends

    async def _images_out(self, out: pb.Images, images: np.ndarray, image_format: int) -> None:
        """Write ``images`` into the reply's ``out`` field, in place (see codec.fill_tensor)."""
        if image_format == pb.IMAGE_FORMAT_PNG:
            out.png.images.extend(await self._off_loop(lambda: codec.encode_pngs(images)))
        else:
            codec.fill_tensor(out.tensor, images)

    async def _off_loop(self, work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)
