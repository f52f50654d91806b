"""Many small images laid out as one: the picture behind ``GET .../samples.png``.

The Python client has its own copy of these few lines (``vaeserve.client.grid``): the
server must not import the client package, and the client must not need the server's.
"""

from __future__ import annotations

import math

import numpy as np

PADDING = 1  # pixels of white between neighbouring images and around the edge


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid of ``count`` images: square-ish unless ``columns`` is given."""
    columns = min(columns or math.ceil(math.sqrt(count)), count)
    return math.ceil(count / columns), columns


def tile(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Images [N, C, H, W] in [0, 1] as one image [C, rows*(H+1)+1, columns*(W+1)+1]."""
    count, channels, height, width = images.shape
    rows, columns = grid_shape(count, columns)
    canvas = np.ones(
        (channels, rows * (height + PADDING) + PADDING, columns * (width + PADDING) + PADDING),
        np.float32,
    )
    for index, image in enumerate(images):
        top = PADDING + (index // columns) * (height + PADDING)
        left = PADDING + (index % columns) * (width + PADDING)
        canvas[:, top : top + height, left : left + width] = image
    return canvas
