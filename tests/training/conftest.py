"""Small data files in every format the loaders read, written by the tests themselves."""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import DataOptions

IDX_STEMS = {
    "train-images-idx3-ubyte": (12, 6, 5),
    "train-labels-idx1-ubyte": (12,),
    "t10k-images-idx3-ubyte": (4, 6, 5),
    "t10k-labels-idx1-ubyte": (4,),
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dir(directory: Path, *, gz: bool, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for stem, shape in IDX_STEMS.items():
        high = 10 if "labels" in stem else 256
        arrays[stem] = rng.integers(0, high, shape, dtype=np.uint8)
        raw = idx_bytes(arrays[stem])
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / stem).write_bytes(raw)
    return arrays


@pytest.fixture
def idx_writer() -> Callable[..., dict[str, np.ndarray]]:
    """Write the four IDX files of a tiny MNIST-like dataset into a folder."""
    return write_idx_dir


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    write_idx_dir(tmp_path / "idx", gz=True)
    return tmp_path / "idx"


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    """Five tiny training batches and a test batch; labels cycle through the ten classes."""
    directory = tmp_path / "cifar-10-batches-py"
    directory.mkdir()
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
             b"dog", b"frog", b"horse", b"ship", b"truck"]  # fmt: skip
    with (directory / "batches.meta").open("wb") as stream:
        pickle.dump({b"label_names": names}, stream)
    rng = np.random.default_rng(1)
    for index, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        batch = {
            b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
            b"labels": [(index + i) % 10 for i in range(10)],
        }
        with (directory / name).open("wb") as stream:
            pickle.dump(batch, stream)
    return directory


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """Ten colour images of mixed sizes and formats, some in a sub-folder."""
    directory = tmp_path / "faces"
    (directory / "person").mkdir(parents=True)
    rng = np.random.default_rng(2)
    for index in range(10):
        size = (20 + index, 30 - index)
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        folder = directory / "person" if index % 2 else directory
        suffix = ".png" if index % 3 else ".jpg"
        Image.fromarray(pixels).save(folder / f"face_{index:02d}{suffix}")
    return directory


@pytest.fixture
def small_config(tmp_path: Path) -> Callable[..., TrainConfig]:
    """A TrainConfig for a seconds-long run on scikit-learn's digits; keywords override."""

    def make(**overrides: object) -> TrainConfig:
        settings: dict[str, object] = {
            "output_dir": tmp_path / "run",
            "data": DataOptions("digits"),
            "latent_dim": 2,
            "hidden": (32,),
            "epochs": 2,
            "batch_size": 64,
            "progress": False,
            "figures": False,
        }
        settings.update(overrides)
        return TrainConfig(**settings)  # type: ignore[arg-type]

    return make
