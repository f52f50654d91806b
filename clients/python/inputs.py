"""Files a person hands the CLI, read into arrays the server accepts.

Errors are :class:`InputFileError` with a message naming the file, so the CLI can print
one line instead of a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vaeserve.client.tensors import FloatArray


class InputFileError(ValueError):
    """A file given on the command line cannot be used."""


def read_images(paths: Sequence[Path], channels: int) -> list[Image.Image]:
    """Image files of any format and size, converted to the model's grey or RGB."""
    mode = "L" if channels == 1 else "RGB"
    pictures = []
    for path in paths:
        try:
            with Image.open(path) as image:
                pictures.append(image.convert(mode))
        except (UnidentifiedImageError, OSError) as error:
            raise InputFileError(f"{path}: not a readable image ({error})") from error
    return pictures


def read_latents(path: Path) -> FloatArray:
    """Latent vectors [N, D] from a .npy file or a JSON list of lists."""
    try:
        if path.suffix == ".json":
            values = np.asarray(json.loads(path.read_text()), dtype=np.float32)
        else:
            values = np.load(path, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as error:
        raise InputFileError(f"{path}: not a latent array (.npy or JSON): {error}") from error
    return values[np.newaxis] if values.ndim == 1 else values


def parse_point(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError as error:
        raise InputFileError(f"{text!r}: a latent point is comma-separated numbers") from error


def write_latents(path: Path, latents: FloatArray) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(latents.tolist()) + "\n")
    else:
        np.save(path, latents)
    return path
