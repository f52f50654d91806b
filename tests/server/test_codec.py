"""Tensor and PNG conversion, and the checks on the way in."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vaeserve.server import codec
from vaeserve.server.errors import InvalidArgumentError
from vaeserve.v1 import vae_service_pb2 as pb


def test_tensors_round_trip_bit_for_bit() -> None:
    values = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    back = codec.tensor_to_array(codec.array_to_tensor(values), (5,), "x", 10)
    np.testing.assert_array_equal(back, values)


def test_tensors_are_little_endian_on_the_wire() -> None:
    message = codec.array_to_tensor(np.array([[1.0]], dtype=">f4"))
    assert message.data == np.array([1.0], "<f4").tobytes()


def test_a_reply_tensor_filled_in_place_round_trips_after_serialising() -> None:
    array = np.random.default_rng(0).random((5, 3, 2, 2), dtype=np.float32)[:, ::-1]
    reply = pb.DecodeResponse(model_name="m")
    codec.fill_tensor(reply.images.tensor, array)
    tensor = pb.DecodeResponse.FromString(reply.SerializeToString()).images.tensor
    np.testing.assert_array_equal(codec.tensor_to_array(tensor, (3, 2, 2), "x", 10), array)


def test_an_empty_batch_is_invalid() -> None:
    with pytest.raises(InvalidArgumentError, match="at least one item"):
        codec.tensor_to_array(pb.Tensor(shape=[0, 2]), (2,), "latents", 10)


def test_infinite_values_are_invalid() -> None:
    message = codec.array_to_tensor(np.array([[np.inf, 0.0]], np.float32))
    with pytest.raises(InvalidArgumentError, match="infinite"):
        codec.tensor_to_array(message, (2,), "latents", 10)


def test_pngs_round_trip_to_the_nearest_8_bit_level() -> None:
    values = np.random.default_rng(1).random((2, 3, 4, 5), dtype=np.float32)
    files = codec.encode_pngs(values)
    back = codec.decode_pngs(files, (3, 4, 5), max_items=4, max_png_bytes=1 << 16, max_pixels=400)
    np.testing.assert_allclose(back, values, atol=0.5 / 255 + 1e-6)


def test_a_colour_png_is_converted_for_a_grey_model() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (255, 255, 255)).save(buffer, format="PNG")
    back = codec.decode_pngs(
        [buffer.getvalue()], (1, 2, 3), max_items=1, max_png_bytes=1 << 16, max_pixels=100
    )
    np.testing.assert_array_equal(back, np.ones((1, 1, 2, 3), np.float32))


def test_a_truncated_png_is_invalid() -> None:
    data = codec.encode_pngs(np.zeros((1, 1, 8, 8), np.float32))[0]
    with pytest.raises(InvalidArgumentError, match=r"images\.png\[0\]"):
        codec.decode_pngs(
            [data[:40]], (1, 8, 8), max_items=1, max_png_bytes=1 << 16, max_pixels=100
        )


def test_png_dimensions_come_from_the_header() -> None:
    data = codec.encode_pngs(np.zeros((1, 1, 6, 7), np.float32))[0]
    assert codec.png_dimensions(data, "x") == (7, 6)
