"""What every OK reply must be: the right shapes, finite values, pixels in [0, 1].

:class:`~tests.properties.probe.Probe` runs :func:`assert_valid_reply` on every OK answer of
every property test, so any request Hypothesis finds the server accepting is also a check
that its reply keeps the proto's promises. PNG replies are decoded and checked too: a NaN
pixel would be written black, so their count, size and channels are what can be checked.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import numpy as np

from tests.properties.bad_inputs import Model, embedded_models
from vaeserve.client.tensors import from_tensor, images_to_array
from vaeserve.v1 import vae_service_pb2 as pb

REQUESTS: dict[str, Any] = {
    "Encode": pb.EncodeRequest,
    "Decode": pb.DecodeRequest,
    "Sample": pb.SampleRequest,
    "Interpolate": pb.InterpolateRequest,
    "Reconstruct": pb.ReconstructRequest,
    "ListModels": pb.ListModelsRequest,
    "GetModelInfo": pb.GetModelInfoRequest,
}
REPLIES: dict[str, Any] = {
    "Encode": pb.EncodeResponse,
    "Decode": pb.DecodeResponse,
    "Sample": pb.SampleResponse,
    "Interpolate": pb.InterpolateResponse,
    "Reconstruct": pb.ReconstructResponse,
    "ListModels": pb.ListModelsResponse,
    "GetModelInfo": pb.GetModelInfoResponse,
}
replies_checked: Counter[str] = Counter()
"""Method -> OK replies carrying tensors that were checked, over the whole session."""


@cache
def _models() -> dict[str, Model]:
    return {model.name: model for model in embedded_models()}


def assert_valid_reply(method: str, request: Any, reply: Any) -> None:
    """Check an OK ``reply`` to ``request``; methods without tensors pass as they are."""
    if method not in {"Encode", "Decode", "Sample", "Interpolate", "Reconstruct"}:
        return
    model = _models()[reply.model_name]
    count = requested_items(method, request)
    latent_shape = (count, model.latent_dim)
    if method == "Encode":
        assert_finite_tensor(reply.mean, latent_shape, "mean")
        assert_finite_tensor(reply.log_var, latent_shape, "log_var")
        if request.sample:
            assert_finite_tensor(reply.z, latent_shape, "z")
    else:
        assert_valid_images(reply.images, (count, *model.image_shape), method)
    if method in {"Sample", "Interpolate"}:
        assert_finite_tensor(reply.latents, latent_shape, "latents")
    if method == "Reconstruct":
        assert_finite_tensor(reply.mean, latent_shape, "mean")
    replies_checked[method] += 1


def requested_items(method: str, request: Any) -> int:
    """How many items the request asked for, so how many the reply must carry."""
    if method == "Sample":
        return int(request.count)
    if method == "Interpolate":
        return int(request.steps)
    if method == "Decode":
        return int(request.latents.shape[0])
    images = request.images
    if images.WhichOneof("content") == "png":
        return len(images.png.images)
    return int(images.tensor.shape[0])


def assert_finite_tensor(tensor: pb.Tensor, shape: tuple[int, ...], what: str) -> None:
    values = from_tensor(tensor)
    assert values.shape == shape, f"{what} has shape {values.shape}, not {shape}"
    assert np.isfinite(values).all(), f"{what} holds NaN or infinite values"


def assert_valid_images(images: pb.Images, shape: tuple[int, ...], method: str) -> None:
    pixels = images_to_array(images)
    assert pixels.shape == shape, f"{method} images have shape {pixels.shape}, not {shape}"
    assert np.isfinite(pixels).all(), f"{method} answered OK with NaN or infinite pixels"
    low, high = float(pixels.min()), float(pixels.max())
    assert low >= 0.0 and high <= 1.0, f"{method} pixels span [{low}, {high}], not [0, 1]"
