"""Read CIFAR-10's python-pickle batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``).

Each batch is a pickled dict with ``b"data"`` (uint8 [N, 3072], channel-major) and
``b"labels"``; ``batches.meta`` holds ``b"label_names"``. The files come from a trusted,
user-supplied directory: pickle can run code, so never point this at files from strangers.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from vaeserve.training.errors import DatasetError

HOW_TO_GET = (
    "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
    "unpack it and pass its cifar-10-batches-py directory with --data-dir"
)
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"


def read_cifar10(
    directory: Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Return train images, train labels, test images, test labels (uint8 NCHW) and class names."""
    names = tuple(str(n, "utf-8") for n in _unpickle(directory / META)[b"label_names"])
    train = [_read_batch(directory / name) for name in TRAIN_BATCHES]
    test_images, test_labels = _read_batch(directory / TEST_BATCH)
    train_images = np.concatenate([images for images, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    return train_images, train_labels, test_images, test_labels, names


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, ValueError, TypeError) as error:
        raise DatasetError(f"{path} is not a CIFAR-10 batch ({error!r}): {HOW_TO_GET}") from error
    if len(labels) != len(data):
        raise DatasetError(
            f"{path} holds {len(data)} images but {len(labels)} labels: {HOW_TO_GET}"
        )
    return data, labels


def _unpickle(path: Path) -> dict[bytes, Any]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing: {HOW_TO_GET}")
    try:
        with path.open("rb") as stream:
            loaded = pickle.load(stream, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as error:
        raise DatasetError(
            f"{path} is not a readable CIFAR-10 pickle ({error}): {HOW_TO_GET}"
        ) from error
    if not isinstance(loaded, dict):
        raise DatasetError(f"{path} does not hold a CIFAR-10 batch dict: {HOW_TO_GET}")
    return loaded
