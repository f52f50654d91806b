"""Face images: scikit-image's bundled ``lfw_subset``, or a directory of image files.

``lfw_subset`` ships inside scikit-image (200 grey 25x25 crops; the first 100 are faces, the
rest are not), so the default needs no download. A directory (the full LFW, say) is read
recursively, every image resized to a square of ``image_size`` pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vaeserve.training.errors import DatasetError

LFW_FACES = 100
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".webp"})
HOW_TO_GET_FACES = (
    "pass a directory of face images, e.g. the full LFW from "
    "https://vis-www.cs.umass.edu/lfw/ unpacked, with --data-dir"
)


def read_lfw_subset() -> np.ndarray:
    """Return the 100 face crops of ``skimage.data.lfw_subset`` as float32 [100, 1, 25, 25]."""
    from skimage import data

    faces = np.asarray(data.lfw_subset()[:LFW_FACES], dtype=np.float32)  # type: ignore[no-untyped-call]
    return faces[:, None, :, :]


def read_image_directory(directory: Path, image_size: int, channels: int) -> np.ndarray:
    """Return every image under ``directory``, sorted by path, as float32 [N, C, S, S] in [0, 1]."""
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a directory: {HOW_TO_GET_FACES}")
    paths = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DatasetError(f"{directory} holds no image files: {HOW_TO_GET_FACES}")
    mode = "L" if channels == 1 else "RGB"
    images = np.stack([_read_image(path, image_size, mode) for path in paths])
    if channels == 1:
        images = images[:, :, :, None]
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def _read_image(path: Path, image_size: int, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            resized = image.convert(mode).resize(
                (image_size, image_size), Image.Resampling.BILINEAR
            )
            return np.asarray(resized, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DatasetError(
            f"{path} is not a readable image ({error}): {HOW_TO_GET_FACES}"
        ) from error
