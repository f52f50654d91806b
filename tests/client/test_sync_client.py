"""Every method of the sync client against the real server."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.client.conftest import GREY, RGB, large_photo
from vaeserve.client import Client, InvalidArgumentError


def test_list_models_reports_the_tiny_models_ready(client: Client) -> None:
    models = {(m.name, m.version): m.state for m in client.list_models()}
    assert models[(GREY, 2)] == "READY"
    assert models[(RGB, 1)] == "READY"


def test_model_info_describes_shapes_and_limits(client: Client) -> None:
    info = client.model_info(RGB)
    assert info.image_shape == (3, 8, 8)
    assert info.latent_dim == 4
    assert info.max_items_per_request >= 1


def test_encode_returns_mean_and_log_var_per_image(client: Client) -> None:
    result = client.encode(RGB, np.full((5, 3, 8, 8), 0.5, np.float32))
    assert result.mean.shape == (5, 4)
    assert result.log_var.shape == (5, 4)
    assert result.z is None


def test_encode_with_sample_returns_a_reproducible_z(client: Client) -> None:
    images = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
    first = client.encode(GREY, images, sample=True, seed=7)
    again = client.encode(GREY, images, sample=True, seed=7)
    assert first.z is not None and again.z is not None
    np.testing.assert_array_equal(first.z, again.z)


def test_decode_returns_one_image_per_latent(client: Client) -> None:
    result = client.decode(GREY, np.zeros((4, 2), np.float32))
    assert result.images.shape == (4, 1, 8, 8)
    assert result.model_version == 2


def test_decode_as_png_gives_files_that_open_at_the_model_size(client: Client) -> None:
    result = client.decode(RGB, np.zeros((2, 4), np.float32), png=True)
    assert len(result.pngs) == 2
    with Image.open(io.BytesIO(result.pngs[0])) as image:
        assert image.size == (8, 8)
        assert image.mode == "RGB"


def test_sample_is_reproducible_for_a_seed(client: Client) -> None:
    first = client.sample(GREY, 3, seed=11, temperature=0.8)
    again = client.sample(GREY, 3, seed=11, temperature=0.8)
    assert first.seed == 11
    np.testing.assert_array_equal(first.images, again.images)
    assert first.latents.shape == (3, 2)


def test_interpolate_between_latents_keeps_the_endpoints(client: Client) -> None:
    ends = np.array([[-1.0, 0.0], [1.0, 0.5]], np.float32)
    result = client.interpolate(GREY, latents=ends, steps=5, spherical=True)
    assert result.images.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(result.latents[[0, -1]], ends, atol=1e-5)


def test_interpolate_between_images_walks_the_requested_steps(client: Client) -> None:
    result = client.interpolate(RGB, images=np.zeros((2, 3, 8, 8), np.float32), steps=4)
    assert result.latents.shape == (4, 4)


def test_reconstruct_accepts_pillow_images(client: Client) -> None:
    pictures = [Image.new("L", (8, 8), color=c) for c in (0, 128, 255)]
    result = client.reconstruct(GREY, pictures)
    assert result.images.shape == (3, 1, 8, 8)
    assert result.mean.shape == (3, 2)
    assert len(result.pil_images()) == 3


def test_encode_of_a_large_photo_without_resize_says_how_to_fix_it(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.encode(GREY, [large_photo()])
    assert "images[0] is 640x480; the model tiny-grey takes 8x8 grey images" in str(refused.value)
    assert "pass resize=True (--resize on the command line)" in refused.value.details


def test_encode_with_resize_takes_a_large_photo(client: Client) -> None:
    result = client.encode(GREY, [large_photo(), large_photo()], resize=True)
    assert result.mean.shape == (2, 2)
    assert np.isfinite(result.mean).all()


def test_reconstruct_with_resize_returns_images_of_the_model_shape(client: Client) -> None:
    photo = Image.open(io.BytesIO(large_photo()))
    result = client.reconstruct(RGB, [photo], resize=True)
    assert result.images.shape == (1, 3, 8, 8)
    assert result.images.min() >= 0.0 and result.images.max() <= 1.0


def test_reconstruct_with_resize_scales_an_array_of_another_size(client: Client) -> None:
    result = client.reconstruct(GREY, np.full((3, 3, 40, 30), 0.5, np.float32), resize=True)
    assert result.images.shape == (3, 1, 8, 8)
    assert result.mean.shape == (3, 2)


def test_interpolate_with_resize_walks_between_two_photos(client: Client) -> None:
    result = client.interpolate(RGB, images=[large_photo(), large_photo()], steps=3, resize=True)
    assert result.images.shape == (3, 3, 8, 8)
    assert result.latents.shape == (3, 4)


def test_interpolate_between_photos_without_resize_names_the_option(client: Client) -> None:
    with pytest.raises(InvalidArgumentError, match="resize=True"):
        client.interpolate(RGB, images=[large_photo(), large_photo()], steps=3)
