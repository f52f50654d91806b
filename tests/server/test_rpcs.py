"""Every RPC over a real channel against the tiny repository: shapes, ranges, order."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vaeserve.v1 import vae_service_pb2 as pb


def tensor(array: np.ndarray) -> pb.Tensor:
    return pb.Tensor(shape=array.shape, data=np.ascontiguousarray(array, "<f4").tobytes())


def array(message: pb.Tensor) -> np.ndarray:
    return np.frombuffer(message.data, "<f4").reshape(tuple(message.shape))


def grey_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 8, 8), dtype=np.float32)


def test_list_models_reports_every_version_ready(stub) -> None:
    reply = stub.ListModels(pb.ListModelsRequest())
    found = [(m.name, m.version, m.state) for m in reply.models]
    assert found == [
        ("tiny-grey", 1, pb.MODEL_STATE_READY),
        ("tiny-grey", 2, pb.MODEL_STATE_READY),
        ("tiny-rgb", 1, pb.MODEL_STATE_READY),
    ]


def test_get_model_info_describes_the_highest_version_by_default(stub) -> None:
    info = stub.GetModelInfo(pb.GetModelInfoRequest(model_name="tiny-grey"))
    assert (info.version, list(info.versions), info.latent_dim) == (2, [1, 2], 2)
    assert (info.channels, info.height, info.width) == (1, 8, 8)
    assert info.execution_provider == "CPUExecutionProvider"
    assert info.max_request_bytes > 4 * 64 * info.max_items_per_request


def test_encode_returns_mean_and_log_var_for_each_image(stub) -> None:
    reply = stub.Encode(
        pb.EncodeRequest(model_name="tiny-grey", images=pb.Images(tensor=tensor(grey_images(5))))
    )
    assert array(reply.mean).shape == (5, 2)
    assert array(reply.log_var).shape == (5, 2)
    assert not reply.HasField("z")


def test_decode_returns_images_in_unit_range_with_the_manifest_shape(stub) -> None:
    latents = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    reply = stub.Decode(pb.DecodeRequest(model_name="tiny-rgb", latents=tensor(latents)))
    images = array(reply.images.tensor)
    assert images.shape == (7, 3, 8, 8)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_sample_returns_png_files_of_the_model_size(stub) -> None:
    reply = stub.Sample(
        pb.SampleRequest(model_name="tiny-rgb", count=3, seed=4, image_format=pb.IMAGE_FORMAT_PNG)
    )
    sizes = [Image.open(io.BytesIO(f)).size for f in reply.images.png.images]
    assert sizes == [(8, 8)] * 3


def test_interpolate_between_latents_starts_and_ends_on_them(stub) -> None:
    ends = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    reply = stub.Interpolate(
        pb.InterpolateRequest(model_name="tiny-grey", latents=tensor(ends), steps=5)
    )
    path = array(reply.latents)
    np.testing.assert_allclose(path[[0, -1]], ends)
    assert array(reply.images.tensor).shape == (5, 1, 8, 8)


def test_reconstruct_returns_one_image_per_input(stub) -> None:
    reply = stub.Reconstruct(
        pb.ReconstructRequest(
            model_name="tiny-grey", images=pb.Images(tensor=tensor(grey_images(4)))
        )
    )
    assert array(reply.images.tensor).shape == (4, 1, 8, 8)
    assert array(reply.mean).shape == (4, 2)
