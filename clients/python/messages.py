"""Requests built and responses read, shared by the sync and the asyncio client.

Inputs larger than the server's ``max_items_per_request`` are cut into chunks here; the
clients send the chunks in order and :func:`join` puts the answers back together, so a
caller never sees the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, TypeGuard

import numpy as np
import numpy.typing as npt
from PIL import Image

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.client.results import (
    DecodeResult,
    EncodeResult,
    InterpolateResult,
    ModelInfo,
    ModelStatus,
    ReconstructResult,
    RepositoryEntry,
    SampleResult,
)
from vaeserve.client.tensors import (
    FloatArray,
    encode_png,
    from_tensor,
    images_message,
    images_to_array,
    png_message,
    to_tensor,
)
from vaeserve.v1 import vae_service_pb2 as pb

ImageInput: TypeAlias = "npt.ArrayLike | Sequence[bytes | Image.Image]"
"""Images as an array [N, C, H, W] in [0, 1], or PNG files, or Pillow images."""


def is_file_list(images: object) -> TypeGuard[Sequence[bytes | Image.Image]]:
    """Whether ``images`` is a list of PNG files or Pillow images rather than an array."""
    return (
        isinstance(images, list | tuple)
        and bool(images)
        and isinstance(images[0], bytes | Image.Image)
    )


def image_chunks(images: ImageInput, size: int) -> list[pb.Images]:
    if is_file_list(images):
        pngs = [item if isinstance(item, bytes) else encode_png(item) for item in images]
        return [png_message(pngs[i : i + size]) for i in range(0, len(pngs), size)]
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        array = array[np.newaxis]
    return [images_message(array[i : i + size]) for i in range(0, max(len(array), 1), size)]


def latent_chunks(latents: npt.ArrayLike, size: int) -> list[pb.Tensor]:
    array = np.asarray(latents, dtype=np.float32)
    if array.ndim == 1:
        array = array[np.newaxis]
    return [to_tensor(array[i : i + size]) for i in range(0, max(len(array), 1), size)]


def image_format(png: bool) -> pb.ImageFormat:
    return pb.IMAGE_FORMAT_PNG if png else pb.IMAGE_FORMAT_TENSOR


def _concat(arrays: Sequence[FloatArray]) -> FloatArray:
    return np.concatenate(arrays, axis=0) if len(arrays) > 1 else arrays[0]


def _pngs(images: Sequence[pb.Images]) -> tuple[bytes, ...]:
    return tuple(
        data for part in images if part.WhichOneof("content") == "png" for data in part.png.images
    )


def join_encode(responses: Sequence[pb.EncodeResponse]) -> EncodeResult:
    first = responses[0]
    has_z = all(r.HasField("z") for r in responses)
    return EncodeResult(
        model_name=first.model_name,
        model_version=first.model_version,
        mean=_concat([from_tensor(r.mean) for r in responses]),
        log_var=_concat([from_tensor(r.log_var) for r in responses]),
        z=_concat([from_tensor(r.z) for r in responses]) if has_z else None,
        seed=first.seed,
    )


def join_decode(responses: Sequence[pb.DecodeResponse]) -> DecodeResult:
    return DecodeResult(
        model_name=responses[0].model_name,
        model_version=responses[0].model_version,
        images=_concat([images_to_array(r.images) for r in responses]),
        pngs=_pngs([r.images for r in responses]),
    )


def join_sample(responses: Sequence[pb.SampleResponse]) -> SampleResult:
    return SampleResult(
        model_name=responses[0].model_name,
        model_version=responses[0].model_version,
        images=_concat([images_to_array(r.images) for r in responses]),
        pngs=_pngs([r.images for r in responses]),
        latents=_concat([from_tensor(r.latents) for r in responses]),
        seed=responses[0].seed,
    )


def join_reconstruct(responses: Sequence[pb.ReconstructResponse]) -> ReconstructResult:
    return ReconstructResult(
        model_name=responses[0].model_name,
        model_version=responses[0].model_version,
        images=_concat([images_to_array(r.images) for r in responses]),
        pngs=_pngs([r.images for r in responses]),
        mean=_concat([from_tensor(r.mean) for r in responses]),
    )


def read_interpolate(response: pb.InterpolateResponse) -> InterpolateResult:
    return InterpolateResult(
        model_name=response.model_name,
        model_version=response.model_version,
        images=images_to_array(response.images),
        pngs=_pngs([response.images]),
        latents=from_tensor(response.latents),
    )


def sample_counts(count: int, size: int) -> list[int]:
    """Sample's count cut into chunks; chunk i uses seed + i, so a seed stays reproducible
    for a given server limit."""
    if count <= size:
        return [count]
    return [min(size, count - start) for start in range(0, count, size)]


def interpolate_request(
    model: str,
    version: int,
    *,
    images: ImageInput | None,
    latents: npt.ArrayLike | None,
    steps: int,
    spherical: bool,
    png: bool,
) -> pb.InterpolateRequest:
    if (images is None) == (latents is None):
        raise ValueError("give exactly one of images= or latents= (two endpoints)")
    method: pb.InterpolationMethod = (
        pb.INTERPOLATION_METHOD_SPHERICAL if spherical else pb.INTERPOLATION_METHOD_LINEAR
    )
    request = pb.InterpolateRequest(
        model_name=model,
        model_version=version,
        steps=steps,
        method=method,
        image_format=image_format(png),
    )
    if images is not None:
        request.images.CopyFrom(image_chunks(images, 2**31)[0])
    else:
        request.latents.CopyFrom(latent_chunks(latents, 2**31)[0])  # type: ignore[arg-type]
    return request


def read_model_info(response: pb.GetModelInfoResponse) -> ModelInfo:
    return ModelInfo(
        name=response.name,
        version=response.version,
        versions=tuple(response.versions),
        latent_dim=response.latent_dim,
        channels=response.channels,
        height=response.height,
        width=response.width,
        likelihood=response.likelihood,
        dataset=response.dataset,
        class_names=tuple(response.class_names),
        execution_provider=response.execution_provider,
        test_negative_elbo_nats=response.test_negative_elbo_nats,
        epochs=response.epochs,
        max_items_per_request=response.max_items_per_request,
        max_request_bytes=response.max_request_bytes,
        manifest_json=response.manifest_json,
    )


def read_repository_entry(entry: admin_pb.RepositoryEntry) -> RepositoryEntry:
    return RepositoryEntry(
        name=entry.name,
        version=entry.version,
        state=admin_pb.VersionState.Name(entry.state).removeprefix("VERSION_STATE_"),
        reason=entry.reason,
        in_repository=entry.in_repository,
    )


def read_models(response: pb.ListModelsResponse) -> list[ModelStatus]:
    return [
        ModelStatus(
            name=m.name,
            version=m.version,
            state=pb.ModelState.Name(m.state).removeprefix("MODEL_STATE_"),
            reason=m.reason,
        )
        for m in response.models
    ]
