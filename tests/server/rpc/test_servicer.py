"""Every RPC over a real channel against the tiny repository: shapes, ranges, order, seeds."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.tensor_messages import (
    array,
    images,
    random_images,
    random_latents,
    tensor,
)
from vaeserve.v1 import vae_service_pb2 as pb


def png(values: np.ndarray) -> bytes:
    """One PNG of a [C, H, W] image in [0, 1]."""
    pixels = np.round(values * 255).astype(np.uint8)
    frame = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


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
    assert '"name": "tiny-grey"' in info.manifest_json


def test_get_model_info_reports_a_request_limit_that_fits_the_largest_request(stub) -> None:
    info = stub.GetModelInfo(pb.GetModelInfoRequest(model_name="tiny-rgb"))
    assert info.max_request_bytes >= 4 * 3 * 8 * 8 * info.max_items_per_request


def test_an_older_version_serves_when_asked_for(stub) -> None:
    latents = tensor(random_latents(1))
    old = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", model_version=1, latents=latents))
    new = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=latents))
    assert (old.model_version, new.model_version) == (1, 2)
    assert not np.array_equal(array(old.images.tensor), array(new.images.tensor))


def test_encode_returns_mean_and_log_var_for_each_image(stub) -> None:
    reply = stub.Encode(pb.EncodeRequest(model_name="tiny-grey", images=images(random_images(5))))
    assert array(reply.mean).shape == (5, 2)
    assert array(reply.log_var).shape == (5, 2)
    assert not reply.HasField("z")


def test_encode_with_sample_draws_a_reproducible_z(stub) -> None:
    request = pb.EncodeRequest(
        model_name="tiny-grey", images=images(random_images(3)), sample=True, seed=11
    )
    first, second = stub.Encode(request), stub.Encode(request)
    assert first.seed == 11
    np.testing.assert_array_equal(array(first.z), array(second.z))
    assert not np.array_equal(array(first.z), array(first.mean))


def test_encode_results_come_back_in_request_order(stub) -> None:
    batch = random_images(6, seed=3)
    together = array(
        stub.Encode(pb.EncodeRequest(model_name="tiny-grey", images=images(batch))).mean
    )
    singles = [pb.EncodeRequest(model_name="tiny-grey", images=images(x[None])) for x in batch]
    one_by_one = [array(stub.Encode(request).mean)[0] for request in singles]
    np.testing.assert_allclose(together, np.stack(one_by_one), rtol=1e-5, atol=1e-6)


def test_encode_accepts_png_files(stub) -> None:
    batch = np.round(random_images(2, (3, 8, 8)) * 255) / 255
    files = pb.Images(png=pb.PngImages(images=[png(x) for x in batch]))
    from_png = stub.Encode(pb.EncodeRequest(model_name="tiny-rgb", images=files))
    from_tensor = stub.Encode(pb.EncodeRequest(model_name="tiny-rgb", images=images(batch)))
    np.testing.assert_allclose(array(from_png.mean), array(from_tensor.mean), atol=1e-5)


def test_decode_returns_images_in_unit_range_with_the_manifest_shape(stub) -> None:
    reply = stub.Decode(
        pb.DecodeRequest(model_name="tiny-rgb", latents=tensor(random_latents(7, 4)))
    )
    decoded = array(reply.images.tensor)
    assert decoded.shape == (7, 3, 8, 8)
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0


def test_decode_of_many_items_spans_several_batches(stub) -> None:
    latents = random_latents(700, seed=5)
    reply = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=tensor(latents)))
    last = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=tensor(latents[-1:])))
    decoded = array(reply.images.tensor)
    assert decoded.shape == (700, 1, 8, 8)
    np.testing.assert_allclose(decoded[-1], array(last.images.tensor)[0], atol=1e-6)


def test_decode_returns_png_files_matching_the_tensor(stub) -> None:
    latents = tensor(random_latents(2, 4))
    as_png = stub.Decode(
        pb.DecodeRequest(model_name="tiny-rgb", latents=latents, image_format=pb.IMAGE_FORMAT_PNG)
    )
    as_tensor = array(
        stub.Decode(pb.DecodeRequest(model_name="tiny-rgb", latents=latents)).images.tensor
    )
    decoded = [np.asarray(Image.open(io.BytesIO(f))) for f in as_png.images.png.images]
    assert [Image.open(io.BytesIO(f)).mode for f in as_png.images.png.images] == ["RGB", "RGB"]
    expected = np.round(as_tensor.transpose(0, 2, 3, 1) * 255)
    np.testing.assert_allclose(np.stack(decoded), expected, atol=1)


def test_sample_is_reproducible_for_a_seed(stub) -> None:
    request = pb.SampleRequest(model_name="tiny-grey", count=4, seed=123)
    first, second = stub.Sample(request), stub.Sample(request)
    np.testing.assert_array_equal(array(first.images.tensor), array(second.images.tensor))
    assert first.seed == 123


def test_sample_differs_between_seeds(stub) -> None:
    first = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=4, seed=1))
    second = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=4, seed=2))
    assert not np.array_equal(array(first.latents), array(second.latents))


def test_sample_without_a_seed_returns_the_one_it_picked(stub) -> None:
    picked = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=2))
    again = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=2, seed=picked.seed))
    np.testing.assert_array_equal(array(picked.latents), array(again.latents))


def test_sample_temperature_scales_the_latents(stub) -> None:
    cold = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=3, seed=9, temperature=0.5))
    warm = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=3, seed=9))
    np.testing.assert_allclose(array(cold.latents) * 2, array(warm.latents), rtol=1e-6)


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
    np.testing.assert_allclose(array(reply.latents)[[0, -1]], ends)
    assert array(reply.images.tensor).shape == (5, 1, 8, 8)


def test_spherical_path_keeps_the_norm_of_equal_norm_endpoints(stub) -> None:
    ends = np.array([[3.0, 0.0], [0.0, -3.0]], dtype=np.float32)
    reply = stub.Interpolate(
        pb.InterpolateRequest(
            model_name="tiny-grey",
            latents=tensor(ends),
            steps=9,
            method=pb.INTERPOLATION_METHOD_SPHERICAL,
        )
    )
    path = array(reply.latents)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-5)
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)


def test_interpolate_between_images_starts_at_their_means(stub) -> None:
    pair = random_images(2, seed=8)
    means = array(stub.Encode(pb.EncodeRequest(model_name="tiny-grey", images=images(pair))).mean)
    reply = stub.Interpolate(
        pb.InterpolateRequest(
            model_name="tiny-grey", images=images(pair), steps=4, image_format=pb.IMAGE_FORMAT_PNG
        )
    )
    np.testing.assert_allclose(array(reply.latents)[[0, -1]], means, atol=1e-6)
    assert len(reply.images.png.images) == 4


def test_reconstruct_decodes_the_encoded_means(stub) -> None:
    batch = random_images(4)
    reply = stub.Reconstruct(pb.ReconstructRequest(model_name="tiny-grey", images=images(batch)))
    decoded = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=reply.mean))
    np.testing.assert_allclose(array(reply.images.tensor), array(decoded.images.tensor), atol=1e-6)
    assert array(reply.images.tensor).shape == (4, 1, 8, 8)
