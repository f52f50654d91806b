"""``vaeserve.v1.VaeService`` without a protocol: one short method per RPC.

Each method takes the request message, validates and converts it to numpy
(:mod:`vaeserve.server.dataplane.codec`), awaits the model's batchers, and builds the reply
message. Errors are raised, never returned; a front maps them to its status codes once
(:mod:`vaeserve.server.rpc.status` for gRPC). The caller passes ``why_abandoned``, the
one thing the batcher must ask of a live request, so nothing here knows which transport
carried it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from vaeserve.server.dataplane import codec
from vaeserve.server.errors import InvalidArgumentError, UnavailableError
from vaeserve.server.inference import latent
from vaeserve.server.inference.model_table import (
    FAILED,
    LOADING,
    READY,
    ModelTable,
    ServedModel,
)
from vaeserve.server.inference.queued_request import WhyAbandoned, never_abandoned
from vaeserve.server.settings import Settings
from vaeserve.v1 import vae_service_pb2 as pb

MAX_TEMPERATURE = 10.0
_STATES = {
    LOADING: pb.MODEL_STATE_LOADING,
    READY: pb.MODEL_STATE_READY,
    FAILED: pb.MODEL_STATE_FAILED,
}


class VaeHandlers:
    """The service's behaviour, shared by every front that serves it."""

    def __init__(
        self,
        table: ModelTable,
        settings: Settings,
        executor: Executor,
        max_request_bytes: int,
    ) -> None:
        self.table = table
        self._settings = settings
        self._executor = executor
        self._max_request_bytes = max_request_bytes
        self._accepting = True

    def stop_accepting(self) -> None:
        """From now on every call is refused with UNAVAILABLE (the server drains)."""
        self._accepting = False

    def check_accepting(self) -> None:
        if not self._accepting:
            raise UnavailableError("the server is shutting down; retry on another replica")

    def model_label(self, request: Any) -> str:
        """The model name as a metric label; unknown names collapse to one label value."""
        name = getattr(request, "model_name", "")
        return name if name in self.table.versions else ("" if not name else "unknown")

    async def encode(
        self, request: pb.EncodeRequest, why_abandoned: WhyAbandoned = never_abandoned
    ) -> pb.EncodeResponse:
        with self.table.lookup(request.model_name, request.model_version).lease() as model:
            images = await self._images_in(request.images, model, "images")
            mean, log_var = await model.encode(images, why_abandoned)
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

    async def decode(
        self, request: pb.DecodeRequest, why_abandoned: WhyAbandoned = never_abandoned
    ) -> pb.DecodeResponse:
        with self.table.lookup(request.model_name, request.model_version).lease() as model:
            codec.check_enum(request.image_format, pb.ImageFormat, "image_format")
            latents = self._latents_in(request.latents, model, "latents")
            images = await model.decode(latents, why_abandoned)
            reply = pb.DecodeResponse(
                model_name=model.manifest.name, model_version=model.manifest.version
            )
            await self._images_out(reply.images, images, request.image_format)
            return reply

    async def sample(
        self, request: pb.SampleRequest, why_abandoned: WhyAbandoned = never_abandoned
    ) -> pb.SampleResponse:
        with self.table.lookup(request.model_name, request.model_version).lease() as model:
            if request.count < 1:
                raise InvalidArgumentError("count must be at least 1")
            codec.check_item_count(request.count, self._settings.max_items_per_request, "count")
            codec.check_enum(request.image_format, pb.ImageFormat, "image_format")
            temperature = request.temperature if request.HasField("temperature") else 1.0
            if not (math.isfinite(temperature) and 0.0 <= temperature <= MAX_TEMPERATURE):
                raise InvalidArgumentError(
                    f"temperature must be a finite number in [0, {MAX_TEMPERATURE:g}], "
                    f"got {temperature}"
                )
            seed = request.seed if request.HasField("seed") else latent.new_seed()
            latents = latent.sample_prior(
                request.count, model.manifest.latent_dim, temperature, seed
            )
            images = await model.decode(latents, why_abandoned)
            reply = pb.SampleResponse(
                model_name=model.manifest.name, model_version=model.manifest.version, seed=seed
            )
            codec.fill_tensor(reply.latents, latents)
            await self._images_out(reply.images, images, request.image_format)
            return reply

    async def interpolate(
        self, request: pb.InterpolateRequest, why_abandoned: WhyAbandoned = never_abandoned
    ) -> pb.InterpolateResponse:
        with self.table.lookup(request.model_name, request.model_version).lease() as model:
            if request.steps < 2:
                raise InvalidArgumentError("steps must be at least 2 (both endpoints included)")
            codec.check_item_count(request.steps, self._settings.max_items_per_request, "steps")
            codec.check_enum(request.method, pb.InterpolationMethod, "method")
            codec.check_enum(request.image_format, pb.ImageFormat, "image_format")
            ends = await self._endpoints(request, model, why_abandoned)
            walk = (
                latent.spherical_path
                if request.method == pb.INTERPOLATION_METHOD_SPHERICAL
                else latent.linear_path
            )
            path = walk(ends[0], ends[1], request.steps)
            images = await model.decode(path, why_abandoned)
            reply = pb.InterpolateResponse(
                model_name=model.manifest.name, model_version=model.manifest.version
            )
            codec.fill_tensor(reply.latents, path)
            await self._images_out(reply.images, images, request.image_format)
            return reply

    async def reconstruct(
        self, request: pb.ReconstructRequest, why_abandoned: WhyAbandoned = never_abandoned
    ) -> pb.ReconstructResponse:
        with self.table.lookup(request.model_name, request.model_version).lease() as model:
            codec.check_enum(request.image_format, pb.ImageFormat, "image_format")
            images = await self._images_in(request.images, model, "images")
            mean, _ = await model.encode(images, why_abandoned)
            decoded = await model.decode(mean, why_abandoned)
            reply = pb.ReconstructResponse(
                model_name=model.manifest.name, model_version=model.manifest.version
            )
            await self._images_out(reply.images, decoded, request.image_format)
            codec.fill_tensor(reply.mean, mean)
            return reply

    async def list_models(self, request: pb.ListModelsRequest) -> pb.ListModelsResponse:
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

    async def get_model_info(self, request: pb.GetModelInfoRequest) -> pb.GetModelInfoResponse:
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
        latents = codec.tensor_to_array(
            tensor, (model.manifest.latent_dim,), what, self._settings.max_items_per_request
        )
        codec.check_latent_range(latents, what)
        return latents

    async def _endpoints(
        self, request: pb.InterpolateRequest, model: ServedModel, why_abandoned: WhyAbandoned
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
            ends = (await model.encode(images, why_abandoned))[0]
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
