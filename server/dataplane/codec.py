"""Tensor messages and PNG files to numpy arrays and back, validating on the way in.

Every check a client's bytes must pass lives here: declared shape against the model's,
byte count against the shape, finite values, pixel range, and PNG size. A PNG's width and
height are read from its header and checked before a single pixel is decoded, so a small
file that declares a huge image (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from PIL import Image, UnidentifiedImageError

from vaeserve.server.errors import InvalidArgumentError, shown
from vaeserve.v1 import vae_service_pb2 as pb

FLOAT32_LE = np.dtype("<f4")
# Latents further from the origin than this are refused. A standard-normal prior puts no
# mass out there, and at 3e38 the decoders' float32 sums overflow into NaN pixels. Every
# embedded decoder (MLP and conv) was measured finite, in [0, 1], up to 1e30 in every
# coordinate, so the bound leaves room for a spherical Interpolate path, which can reach
# sqrt(latent_dim) times it in one coordinate (tests/server/dataplane/test_handlers.py).
MAX_LATENT_ABS = 1e4
_MODES = {1: "L", 3: "RGB"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tensor_to_array(
    tensor: pb.Tensor, item_shape: tuple[int, ...], what: str, max_items: int
) -> np.ndarray:
    """A read-only float32 array [N, *item_shape] viewing the tensor's bytes, validated."""
    shape = tuple(tensor.shape)
    if len(shape) != 1 + len(item_shape) or shape[1:] != item_shape:
        expected = ", ".join(["N", *map(str, item_shape)])
        raise InvalidArgumentError(f"{what} must have shape [{expected}], got {shown(list(shape))}")
    count = shape[0]
    if count < 1:
        raise InvalidArgumentError(f"{what} must hold at least one item, got N={count}")
    check_item_count(count, max_items, what)
    expected_bytes = 4 * math.prod(shape)
    data = tensor.data  # each read of a bytes field copies it out of the message: read once
    if len(data) != expected_bytes:
        raise InvalidArgumentError(
            f"{what} of shape {list(shape)} needs {expected_bytes} bytes of little-endian "
            f"float32, got {len(data)}"
        )
    array = np.frombuffer(data, dtype=FLOAT32_LE).reshape(shape)
    if not np.isfinite(array).all():
        raise InvalidArgumentError(f"{what} contains NaN or infinite values")
    return array


def check_latent_range(latents: np.ndarray, what: str) -> None:
    """Latents the decoders turn into finite pixels: within +-MAX_LATENT_ABS."""
    if latents.size and float(np.abs(latents).max()) > MAX_LATENT_ABS:
        raise InvalidArgumentError(
            f"{what} values must lie in [-{MAX_LATENT_ABS:g}, {MAX_LATENT_ABS:g}] "
            "(the prior is a standard normal)"
        )


def check_enum(value: int, enum: EnumTypeWrapper, field: str) -> None:
    """An enum field holds one of its declared values: proto3 keeps unknown numbers."""
    if value not in enum.values():
        names = ", ".join(enum.keys())
        raise InvalidArgumentError(f"{field} {value} is not one of {names}")


def check_item_count(count: int, max_items: int, what: str) -> None:
    # INVALID_ARGUMENT, not RESOURCE_EXHAUSTED: clients retry the latter, and the same request
    # would be refused again; only a full queue is worth retrying.
    if count > max_items:
        raise InvalidArgumentError(
            f"{what} carries {count} items; this server takes at most {max_items} per "
            "request: split it into several requests"
        )


def check_pixel_range(images: np.ndarray, what: str) -> None:
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise InvalidArgumentError(f"{what} pixel values must lie in [0, 1]")


def fill_tensor(tensor: pb.Tensor, array: np.ndarray) -> None:
    """Write ``array`` into a Tensor field of a reply in place. A Tensor built apart and
    then passed to its parent is copied again (upb merges by serialising and parsing), which
    for 256 conv images is 3 MB more per level of nesting."""
    tensor.shape[:] = array.shape
    tensor.data = np.ascontiguousarray(array, dtype=FLOAT32_LE).tobytes()


def decode_pngs(
    files: Sequence[bytes],
    image_shape: tuple[int, int, int],
    *,
    max_items: int,
    max_png_bytes: int,
    max_pixels: int,
) -> np.ndarray:
    """Float32 [N, C, H, W] in [0, 1] from PNG files of exactly the model's width and height."""
    if not files:
        raise InvalidArgumentError("images.png must hold at least one PNG file")
    check_item_count(len(files), max_items, "images.png")
    channels, height, width = image_shape
    out = np.empty((len(files), height, width, channels), dtype=np.uint8)
    for index, data in enumerate(files):
        out[index] = _decode_png(data, index, channels, (width, height), max_png_bytes, max_pixels)
    return (out.transpose(0, 3, 1, 2).astype(np.float32)) / np.float32(255.0)


def _decode_png(
    data: bytes,
    index: int,
    channels: int,
    size: tuple[int, int],
    max_bytes: int,
    max_pixels: int,
) -> np.ndarray:
    what = f"images.png[{index}]"
    if len(data) > max_bytes:
        raise InvalidArgumentError(f"{what} is {len(data)} bytes; the limit is {max_bytes}")
    width, height = png_dimensions(data, what)
    if width * height > max_pixels:
        raise InvalidArgumentError(
            f"{what} declares {width}x{height} pixels, over the limit of {max_pixels}"
        )
    if (width, height) != size:
        raise InvalidArgumentError(
            f"{what} is {width}x{height}; this model takes {size[0]}x{size[1]} images"
        )
    # Pillow reports a malformed file with many exception types (OSError, ValueError,
    # SyntaxError for a bad chunk or checksum, EOFError, struct.error, ...). The header has
    # passed the size checks above, so any failure from here on is the file's fault.
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            pixels = np.asarray(image.convert(_MODES[channels]), dtype=np.uint8)
    except UnidentifiedImageError as error:  # its text names a BytesIO object: no help
        raise InvalidArgumentError(f"{what} is not a readable PNG file") from error
    except Exception as error:
        raise InvalidArgumentError(f"{what} is not a readable PNG file: {error}") from error
    return pixels.reshape(size[1], size[0], channels)


def png_dimensions(data: bytes, what: str) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG standard puts first."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise InvalidArgumentError(f"{what} is not a PNG file (no PNG signature and header)")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """One 8-bit PNG per image of a float32 [N, C, H, W] batch in [0, 1].

    A decoder fed finite but absurd latents (say 1e38) can overflow to NaN; such a pixel
    has no level to round to and is written black (+Inf white, -Inf black), rather than
    cast to whatever the platform makes of NaN (numpy warns, the byte is undefined).
    """
    channels = images.shape[1]
    levels = np.nan_to_num(images, nan=0.0, posinf=1.0, neginf=0.0) * 255.0 + 0.5
    pixels = np.clip(levels, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    files = []
    for item in pixels:
        buffer = io.BytesIO()
        frame = item[:, :, 0] if channels == 1 else item
        Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
        files.append(buffer.getvalue())
    return files
