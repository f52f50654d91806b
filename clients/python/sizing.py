"""Images of any size made to fit a model: scaled to its width x height, in its channels.

A model takes images of exactly one shape (``GetModelInfo``'s channels, height, width), and
the server refuses anything else. A photo rarely has that shape, so the SDK offers
``resize=True``: each image is converted to the model's grey or RGB and scaled with
Pillow's Lanczos filter (antialiased, so a large photo shrinks without aliasing) before it
is sent. Without it, an image of the wrong size is refused here, before it is sent, with a
message that says how to fix the request: the server's own refusal cannot name the SDK's
option, and a large photo is often refused for its file size before its dimensions are
looked at.

Scaling stretches: the aspect ratio is not kept. Crop first when that matters.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import NoReturn

import grpc
import numpy as np
from PIL import Image

from vaeserve.client.errors import InvalidArgumentError
from vaeserve.client.messages import ImageInput, is_file_list
from vaeserve.client.results import ModelInfo
from vaeserve.client.tensors import FloatArray

FILTER = Image.Resampling.LANCZOS
# ITU-R 601-2 luma, the weights Pillow's convert("L") uses, so arrays and files agree.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
HINT = "pass resize=True (--resize on the command line) to scale images to fit"


def describe(model: ModelInfo) -> str:
    """``"the model fashion-mnist takes 28x28 grey images"``: what a fitting image is."""
    kind = {1: "grey", 3: "RGB"}.get(model.channels, f"{model.channels}-channel")
    return f"the model {model.name} takes {model.width}x{model.height} {kind} images"


def as_array(images: ImageInput) -> FloatArray:
    """Images as float32 [N, C, H, W]: an array as it is (one image [C, H, W] gains N=1)."""
    array = np.asarray(images, dtype=np.float32)
    return array[np.newaxis] if array.ndim == 3 else array


def check_fits(images: ImageInput, model: ModelInfo, names: Sequence[str] | None = None) -> None:
    """Refuse images whose width and height (and, for arrays, channels) are not the model's.

    Files and Pillow images of any mode are fine: the server converts them to the model's
    channels. Arrays that are not 4-D are left for the server to refuse. ``names`` label
    the files in the message (the CLI's paths); by default they are ``images[i]``.

    Raises:
        InvalidArgumentError: an image does not fit; the message names the model's shape
            and the ``resize`` option.
    """
    want = (model.width, model.height)
    if is_file_list(images):
        for index, item in enumerate(images):
            size = _file_size(item)
            if size is not None and size != want:
                name = names[index] if names else f"images[{index}]"
                _refuse(f"{name} is {size[0]}x{size[1]}; {describe(model)}; {HINT}")
        return
    array = as_array(images)
    if array.ndim == 4 and array.shape[1:] != (model.channels, model.height, model.width):
        shape = ", ".join(map(str, array.shape))
        _refuse(f"images have shape [{shape}] (N, C, H, W); {describe(model)}; {HINT}")


def resize_images(images: ImageInput, model: ModelInfo) -> FloatArray:
    """Images of any size as float32 [N, C, H, W] in [0, 1] at the model's shape.

    Files and Pillow images are converted to the model's mode (``L`` or ``RGB``) and then
    scaled (one already of the model's size is only converted). Arrays [N, C, H, W] with
    1, 3 or 4 (RGBA, alpha dropped) channels are converted to the model's channels (RGB to
    grey by luma) and scaled channel by channel in float32, so no precision is lost to
    8-bit; an array already of the model's shape is returned as it is.

    Raises:
        InvalidArgumentError: a file is not a readable image, or an array is not
            [N, C, H, W] with 1, 3 or 4 channels.
    """
    size = (model.width, model.height)
    if is_file_list(images):
        mode = "L" if model.channels == 1 else "RGB"
        return np.stack(
            [
                _to_array(_open(item, index).convert(mode).resize(size, FILTER))
                for index, item in enumerate(images)
            ]
        )
    array = as_array(images)
    if array.ndim != 4 or array.shape[1] not in (1, 3, 4):
        _refuse(f"images have shape {list(array.shape)}, not [N, C, H, W] with C 1, 3 or 4")
    array = _to_channels(array, model.channels)
    if array.shape[2:] == (model.height, model.width):
        return array
    scaled = [
        [np.asarray(Image.fromarray(plane, mode="F").resize(size, FILTER)) for plane in image]
        for image in array
    ]
    # Lanczos overshoots at sharp edges: clip back into the range the server accepts.
    return np.clip(np.asarray(scaled, np.float32), 0.0, 1.0)


def _to_channels(array: FloatArray, channels: int) -> FloatArray:
    if array.shape[1] == 4:
        array = array[:, :3]  # RGBA: the alpha is dropped, as Pillow's convert does
    if array.shape[1] == channels:
        return np.ascontiguousarray(array, dtype=np.float32)
    if channels == 1:
        grey = (array * LUMA[:, np.newaxis, np.newaxis]).sum(axis=1, keepdims=True)
        return np.asarray(grey, dtype=np.float32)
    return np.repeat(array, channels, axis=1).astype(np.float32)  # grey to RGB


def _open(item: bytes | Image.Image, index: int) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    try:
        image = Image.open(io.BytesIO(item))
        image.load()
    except (OSError, ValueError) as error:
        raise InvalidArgumentError(
            grpc.StatusCode.INVALID_ARGUMENT, f"images[{index}] is not a readable image: {error}"
        ) from error
    return image


def _file_size(item: bytes | Image.Image) -> tuple[int, int] | None:
    """Width and height from the file's header; None when it is no image (the server says
    precisely what is wrong with it)."""
    if isinstance(item, Image.Image):
        return item.size
    try:
        with Image.open(io.BytesIO(item)) as image:  # reads the header only
            return image.size
    except (OSError, ValueError):
        return None


def _to_array(image: Image.Image) -> FloatArray:
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels[np.newaxis] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)


def _refuse(message: str) -> NoReturn:
    raise InvalidArgumentError(grpc.StatusCode.INVALID_ARGUMENT, message)
