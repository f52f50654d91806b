"""Images made to fit a model: converted to its channels, scaled to its size, or refused
with a message that says how to fix the request."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vaeserve.client import InvalidArgumentError, ModelInfo
from vaeserve.client.sizing import FILTER, check_fits, resize_images


def model(channels: int, height: int = 8, width: int = 8) -> ModelInfo:
    return ModelInfo(
        name="m",
        version=1,
        versions=(1,),
        latent_dim=2,
        channels=channels,
        height=height,
        width=width,
        likelihood="bernoulli",
        dataset="test",
        class_names=(),
        execution_provider="cpu",
        test_negative_elbo_nats=0.0,
        epochs=1,
        max_items_per_request=16,
        max_request_bytes=1 << 20,
        manifest_json="{}",
    )


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_png_of_another_size_is_refused_naming_the_model_shape_and_resize() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        check_fits([png(Image.new("RGB", (640, 480)))], model(1, 28, 28))
    assert refused.value.details == (
        "images[0] is 640x480; the model m takes 28x28 grey images; "
        "pass resize=True (--resize on the command line) to scale images to fit"
    )


def test_the_refusal_names_the_file_when_names_are_given() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^INVALID_ARGUMENT: photo\.png is 9x9"):
        check_fits([Image.new("L", (9, 9))], model(1), names=["photo.png"])


def test_an_array_with_other_channels_is_refused_with_its_shape() -> None:
    with pytest.raises(InvalidArgumentError, match=r"shape \[2, 3, 8, 8\].*8x8 grey.*resize"):
        check_fits(np.zeros((2, 3, 8, 8), np.float32), model(1))


def test_fitting_images_of_any_mode_pass_the_check() -> None:
    files: list[bytes | Image.Image] = [Image.new("RGBA", (8, 8)), png(Image.new("RGB", (8, 8)))]
    check_fits(files, model(1))
    check_fits(np.zeros((3, 8, 8), np.float32), model(3))


def test_a_file_that_is_no_image_is_left_for_the_server_to_name() -> None:
    check_fits([b"not a png"], model(1))


def test_a_large_photo_is_scaled_and_converted_as_pillow_does() -> None:
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8))
    resized = resize_images([png(photo)], model(1))
    expected = np.asarray(photo.convert("L").resize((8, 8), FILTER), np.float32) / 255.0
    assert resized.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(resized[0, 0], expected, atol=1e-6)


def test_rgb_arrays_become_grey_by_luma_and_keep_a_flat_colour() -> None:
    images = np.empty((2, 3, 40, 30), np.float32)
    images[:, 0], images[:, 1], images[:, 2] = 1.0, 0.5, 0.0
    resized = resize_images(images, model(1))
    assert resized.shape == (2, 1, 8, 8)
    np.testing.assert_allclose(resized, 0.299 + 0.587 * 0.5, atol=1e-5)


def test_grey_arrays_become_rgb_and_keep_left_dark_right_light() -> None:
    image = np.zeros((1, 1, 64, 64), np.float32)
    image[..., 32:] = 1.0
    resized = resize_images(image, model(3))
    assert resized.shape == (1, 3, 8, 8)
    assert resized[..., :3].max() < 0.05 and resized[..., 5:].min() > 0.95


def test_scaled_pixels_stay_in_0_1_despite_lanczos_overshoot() -> None:
    checkerboard = (np.indices((1, 1, 37, 37)).sum(axis=0) % 2).astype(np.float32)
    resized = resize_images(checkerboard, model(1))
    assert resized.min() >= 0.0 and resized.max() <= 1.0


def test_an_array_of_the_model_shape_is_returned_unchanged() -> None:
    images = np.random.default_rng(1).random((4, 3, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(resize_images(images, model(3)), images)


def test_an_array_with_two_channels_cannot_be_converted() -> None:
    with pytest.raises(InvalidArgumentError, match="C 1, 3 or 4"):
        resize_images(np.zeros((1, 2, 8, 8), np.float32), model(1))
