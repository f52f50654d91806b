"""Numpy arrays and PNG files to and from the wire's ``Tensor`` and ``Images`` messages.

The wire layout is little-endian float32, row-major; numpy's ``<f4`` in C order is exactly
that, so conversion is one copy at most.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from vaeserve.v1 import vae_service_pb2 as pb

FloatArray = npt.NDArray[np.float32]
WIRE_DTYPE = np.dtype("<f4")


def to_tensor(array: npt.ArrayLike) -> pb.Tensor:
    values = np.ascontiguousarray(array, dtype=WIRE_DTYPE)
    return pb.Tensor(shape=list(values.shape), data=values.tobytes())


def from_tensor(tensor: pb.Tensor) -> FloatArray:
    shape = tuple(int(n) for n in tensor.shape)
    values = np.frombuffer(tensor.data, dtype=WIRE_DTYPE).reshape(shape)
    return values.astype(np.float32)


def images_message(images: npt.ArrayLike) -> pb.Images:
    return pb.Images(tensor=to_tensor(images))


def png_message(pngs: Sequence[bytes]) -> pb.Images:
    return pb.Images(png=pb.PngImages(images=list(pngs)))


def images_to_array(images: pb.Images) -> FloatArray:
    """Tensor images as they are; PNG images decoded to [N, C, H, W] in [0, 1]."""
    if images.WhichOneof("content") == "png":
        return np.stack([png_to_array(data) for data in images.png.images])
    return from_tensor(images.tensor)


def png_to_array(data: bytes) -> FloatArray:
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image, dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        return pixels[np.newaxis]
    return np.moveaxis(pixels[..., :3], -1, 0)


def array_to_png(image: npt.ArrayLike) -> bytes:
    """One [C, H, W] image in [0, 1] to PNG bytes (grey for one channel, RGB for three)."""
    return encode_png(to_pil(image))


def to_pil(image: npt.ArrayLike) -> Image.Image:
    pixels = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    as_bytes = np.rint(pixels * 255.0).astype(np.uint8)
    if as_bytes.shape[0] == 1:
        return Image.fromarray(as_bytes[0], mode="L")
    return Image.fromarray(np.moveaxis(as_bytes, 0, -1), mode="RGB")


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
