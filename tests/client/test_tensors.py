"""The wire layout: little-endian float32, row-major, shape outermost first."""

import struct

import numpy as np

from vaeserve.client.tensors import array_to_png, from_tensor, png_to_array, to_tensor


def test_tensor_bytes_are_little_endian_float32_row_major() -> None:
    tensor = to_tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert list(tensor.shape) == [2, 3]
    assert tensor.data == struct.pack("<6f", 1, 2, 3, 4, 5, 6)


def test_tensor_round_trip_keeps_values_and_shape() -> None:
    values = np.random.default_rng(2).random((2, 3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(from_tensor(to_tensor(values)), values)


def test_png_round_trip_is_within_one_grey_level() -> None:
    image = np.random.default_rng(3).random((3, 6, 5), dtype=np.float32)
    decoded = png_to_array(array_to_png(image))
    assert decoded.shape == (3, 6, 5)
    assert np.abs(decoded - image).max() <= 0.5 / 255 + 1e-6
