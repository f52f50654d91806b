"""What the handlers accept gets a valid reply, and what would not is refused up front.

Over a real channel on the embedded models: latents beyond the documented bound (whose
decodes overflowed into NaN pixels, served as OK) and enum numbers the proto does not
declare (served as if unspecified) are INVALID_ARGUMENT naming what is wrong; latents at
the bound still decode to finite pixels in [0, 1] on every model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest

from tests.tensor_messages import array, images, random_images, tensor
from vaeserve.client.tensors import images_to_array
from vaeserve.manifest import Manifest, read_manifest
from vaeserve.server.dataplane.codec import MAX_LATENT_ABS
from vaeserve.server.settings import embedded_repository
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

HUGE = 3e38  # finite in float32; 32 of them overflowed every decoder into NaN
BOUND_TEXT = f"{MAX_LATENT_ABS:g}"
TIMEOUT_S = 60.0


def embedded_manifests() -> list[Manifest]:
    return [read_manifest(path.parent) for path in embedded_repository().glob("*/*/manifest.json")]


MODELS = sorted(manifest.name for manifest in embedded_manifests())
SHAPES = {m.name: (m.latent_dim, m.image_shape.as_tuple()) for m in embedded_manifests()}


@pytest.fixture(scope="module")
def embedded_stub(server_settings, start_server) -> Iterator[vae_service_pb2_grpc.VaeServiceStub]:
    """A stub on a server of the embedded models."""
    settings = server_settings(model_repository=embedded_repository(), metrics_port=-1)
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        yield vae_service_pb2_grpc.VaeServiceStub(channel)


def refusal(call: Any, request: object) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a call that must fail."""
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=TIMEOUT_S)
    error: Any = raised.value
    return error.code(), str(error.details() or "")


def latents_at_the_bound(latent_dim: int) -> np.ndarray:
    """Every sign pattern that could push a decoder hardest: all +, all -, one axis at a
    time either way, alternating, and random signs."""
    eye = np.eye(latent_dim, dtype=np.float32)
    alternating = np.where(np.arange(latent_dim) % 2 == 0, 1.0, -1.0)
    signs = np.random.default_rng(0).choice([-1.0, 1.0], (16, latent_dim))
    patterns: list[np.ndarray] = [np.ones((1, latent_dim)), -np.ones((1, latent_dim)), eye, -eye]
    patterns += [alternating[None, :], signs]
    return (np.concatenate(patterns) * MAX_LATENT_ABS).astype(np.float32)


def assert_valid_images(message: pb.Images, count: int, image_shape: tuple[int, ...]) -> None:
    pixels = images_to_array(message)
    assert pixels.shape == (count, *image_shape)
    assert np.isfinite(pixels).all()
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("model", MODELS)
def test_decode_refuses_huge_latents_naming_the_bound(embedded_stub, model, sign) -> None:
    latent_dim, _ = SHAPES[model]
    latents = np.full((1, latent_dim), sign * HUGE, np.float32)
    code, details = refusal(
        embedded_stub.Decode, pb.DecodeRequest(model_name=model, latents=tensor(latents))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "latents" in details and BOUND_TEXT in details


@pytest.mark.parametrize(
    "method", [pb.INTERPOLATION_METHOD_LINEAR, pb.INTERPOLATION_METHOD_SPHERICAL]
)
@pytest.mark.parametrize("model", MODELS)
def test_interpolate_refuses_an_endpoint_whose_path_would_be_huge(
    embedded_stub, model, method
) -> None:
    latent_dim, _ = SHAPES[model]
    ends = np.stack([np.zeros(latent_dim), np.full(latent_dim, HUGE)]).astype(np.float32)
    request = pb.InterpolateRequest(model_name=model, latents=tensor(ends), steps=3, method=method)
    code, details = refusal(embedded_stub.Interpolate, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "latents" in details and BOUND_TEXT in details


@pytest.mark.parametrize("image_format", [pb.IMAGE_FORMAT_TENSOR, pb.IMAGE_FORMAT_PNG])
@pytest.mark.parametrize("model", MODELS)
def test_latents_at_the_bound_decode_to_finite_pixels_in_the_unit_interval(
    embedded_stub, model, image_format
) -> None:
    latent_dim, image_shape = SHAPES[model]
    latents = latents_at_the_bound(latent_dim)
    request = pb.DecodeRequest(model_name=model, latents=tensor(latents), image_format=image_format)
    reply = embedded_stub.Decode(request, timeout=TIMEOUT_S)
    assert_valid_images(reply.images, len(latents), image_shape)


@pytest.mark.parametrize("model", MODELS)
def test_a_spherical_path_between_endpoints_at_the_bound_decodes_to_valid_pixels(
    embedded_stub, model
) -> None:
    """The great circle between two corners of the bound's cube leaves the cube (a point
    on it can have one coordinate near sqrt(latent_dim) times the bound); still finite."""
    latent_dim, image_shape = SHAPES[model]
    corner = np.full(latent_dim, MAX_LATENT_ABS, np.float32)
    other = corner.copy()
    other[latent_dim // 2 :] *= -1
    ends = np.stack([corner, other])
    request = pb.InterpolateRequest(
        model_name=model,
        latents=tensor(ends),
        steps=9,
        method=pb.INTERPOLATION_METHOD_SPHERICAL,
    )
    reply = embedded_stub.Interpolate(request, timeout=TIMEOUT_S)
    assert np.isfinite(array(reply.latents)).all()
    assert_valid_images(reply.images, 9, image_shape)


def image_requests(model: str, image_format: Any) -> list[tuple[str, object]]:
    """A well-formed request to every RPC that returns images, asking for ``image_format``."""
    latent_dim, image_shape = SHAPES[model]
    latents = tensor(np.zeros((2, latent_dim), np.float32))
    pictures = images(random_images(1, image_shape))
    return [
        ("Decode", pb.DecodeRequest(model_name=model, latents=latents, image_format=image_format)),
        ("Sample", pb.SampleRequest(model_name=model, count=1, image_format=image_format)),
        (
            "Interpolate",
            pb.InterpolateRequest(
                model_name=model, latents=latents, steps=2, image_format=image_format
            ),
        ),
        (
            "Reconstruct",
            pb.ReconstructRequest(model_name=model, images=pictures, image_format=image_format),
        ),
    ]


@pytest.mark.parametrize("image_format", [3, 7])
def test_an_unknown_image_format_is_refused_naming_the_field(embedded_stub, image_format) -> None:
    for method, request in image_requests(MODELS[0], image_format):
        code, details = refusal(getattr(embedded_stub, method), request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, method
        assert f"image_format {image_format}" in details, method


def test_an_unknown_interpolation_method_is_refused_naming_the_field(embedded_stub) -> None:
    latent_dim, _ = SHAPES[MODELS[0]]
    ends = tensor(np.zeros((2, latent_dim), np.float32))
    unknown_method: Any = 9
    request = pb.InterpolateRequest(
        model_name=MODELS[0], latents=ends, steps=3, method=unknown_method
    )
    code, details = refusal(embedded_stub.Interpolate, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "method 9" in details
