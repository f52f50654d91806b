"""Tensor and PNG conversion, and the checks on the way in."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from vaeserve.server.dataplane import codec
from vaeserve.server.errors import InvalidArgumentError
from vaeserve.v1 import vae_service_pb2 as pb


def tensor_of(array: np.ndarray) -> pb.Tensor:
    tensor = pb.Tensor()
    codec.fill_tensor(tensor, array)
    return tensor


def test_tensors_round_trip_bit_for_bit() -> None:
    values = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    back = codec.tensor_to_array(tensor_of(values), (5,), "x", 10)
    np.testing.assert_array_equal(back, values)


def test_tensors_are_little_endian_on_the_wire() -> None:
    message = tensor_of(np.array([[1.0]], dtype=">f4"))
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
    message = tensor_of(np.array([[np.inf, 0.0]], np.float32))
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


def test_nan_pixels_are_written_black_without_a_warning() -> None:
    images = np.array([[[[np.nan, np.inf], [-np.inf, 0.5]]]], np.float32)
    back = codec.decode_pngs(
        codec.encode_pngs(images), (1, 2, 2), max_items=1, max_png_bytes=1 << 16, max_pixels=4
    )
    np.testing.assert_array_equal(back * 255, [[[[0, 255], [0, 128]]]])


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_a_png_with_a_broken_chunk_after_its_first_pixels_is_invalid() -> None:
    # Pillow raises SyntaxError here, not OSError: every Pillow failure is the file's fault.
    pixels = zlib.compress(bytes(9 * 8))
    data = (
        codec.PNG_SIGNATURE
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", pixels[:4])
        + png_chunk(b"\0\1\2\3", pixels[4:])
        + png_chunk(b"IEND", b"")
    )
    with pytest.raises(InvalidArgumentError, match=r"images\.png\[0\] is not a readable PNG"):
        codec.decode_pngs([data], (1, 8, 8), max_items=1, max_png_bytes=1 << 16, max_pixels=100)


def test_an_unidentifiable_png_says_so_without_internals() -> None:
    data = bytearray(codec.encode_pngs(np.zeros((1, 1, 8, 8), np.float32))[0])
    data[29] ^= 0xFF  # the IHDR checksum
    with pytest.raises(InvalidArgumentError) as caught:
        codec.decode_pngs(
            [bytes(data)], (1, 8, 8), max_items=1, max_png_bytes=1 << 16, max_pixels=100
        )
    assert "BytesIO" not in str(caught.value)


def test_png_dimensions_come_from_the_header() -> None:
    data = codec.encode_pngs(np.zeros((1, 1, 6, 7), np.float32))[0]
    assert codec.png_dimensions(data, "x") == (7, 6)


def test_latents_exactly_at_the_bound_are_accepted() -> None:
    bound = np.float32(codec.MAX_LATENT_ABS)
    codec.check_latent_range(np.array([[bound, -bound]], np.float32), "latents")


def test_latents_just_past_the_bound_are_refused_naming_it() -> None:
    past = np.nextafter(np.float32(codec.MAX_LATENT_ABS), np.float32(np.inf))
    with pytest.raises(InvalidArgumentError, match=r"latents values must lie in \[-10000, 10000\]"):
        codec.check_latent_range(np.array([[0.0, -past]], np.float32), "latents")


def test_a_declared_enum_value_passes() -> None:
    codec.check_enum(pb.IMAGE_FORMAT_PNG, pb.ImageFormat, "image_format")


def test_an_undeclared_enum_value_is_refused_naming_the_field_and_the_choices() -> None:
    with pytest.raises(InvalidArgumentError, match="image_format 7 is not one of") as raised:
        codec.check_enum(7, pb.ImageFormat, "image_format")
    assert "IMAGE_FORMAT_PNG" in str(raised.value)
