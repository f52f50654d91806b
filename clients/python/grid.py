"""Many small images laid out as one picture: the CLI's PNG grids and strips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from vaeserve.client.tensors import FloatArray, to_pil


def tile(images: npt.ArrayLike, columns: int | None = None, padding: int = 1) -> Image.Image:
    """Images [N, C, H, W] in [0, 1] as rows of ``columns`` (square-ish when not given)."""
    batch: FloatArray = np.asarray(images, dtype=np.float32)
    count, channels, height, width = batch.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.ones(
        (channels, rows * (height + padding) + padding, columns * (width + padding) + padding),
        np.float32,
    )
    for index, image in enumerate(batch):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        canvas[:, top : top + height, left : left + width] = image
    return to_pil(canvas)


def save_grid(path: Path, images: npt.ArrayLike, columns: int | None = None) -> Path:
    tile(images, columns).save(path, format="PNG")
    return path
