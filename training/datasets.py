"""The datasets VAEs train on, all as float32 [N, C, H, W] in [0, 1] with a train/test split.

``load_dataset`` is the one entry point. Each loader returns raw arrays; this module turns
them into a :class:`Dataset`, applies the class filter and picks the likelihood: Bernoulli
for grey images, Gaussian for colour ones. Nothing is ever downloaded; a missing or corrupt
file raises :class:`DatasetError` naming the path and how to get the data.

:func:`binarize` is the one transform of the data itself (the binarised protocol of the VAE
literature); it lives here, with the data, so that training and export share it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaeserve.training import cifar, idx, images
from vaeserve.training.errors import DatasetError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(d) for d in range(10))
HOW_TO_GET = {
    "fashion-mnist": "install Debian's dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist) or pass the directory of the four "
    "Fashion-MNIST IDX files with --data-dir",
    "mnist": "download the four MNIST IDX files (train-images-idx3-ubyte.gz and friends) into a "
    "directory and pass it with --data-dir",
}
SPLIT_SEED = 20240517


@dataclass(frozen=True)
class Dataset:
    """Images and labels of one dataset; labels index ``class_names`` (empty when unlabelled)."""

    name: str
    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.train.shape[1:]
        return (int(channels), int(height), int(width))

    @property
    def likelihood(self) -> str:
        return "bernoulli" if self.image_shape[0] == 1 else "gaussian"


@dataclass(frozen=True)
class DataOptions:
    """Where to read a dataset from and which part of it to keep."""

    name: str
    data_dir: Path | None = None
    classes: tuple[str, ...] = ()
    image_size: int = 32
    channels: int = 3


def dataset_names() -> tuple[str, ...]:
    return tuple(LOADERS)


def load_dataset(options: DataOptions) -> Dataset:
    """Load the named dataset, keeping only ``options.classes`` when given."""
    loader = LOADERS.get(options.name)
    if loader is None:
        raise DatasetError(
            f"unknown dataset {options.name!r}; choose one of {', '.join(dataset_names())}"
        )
    return _filter_classes(loader(options), options.classes)


def _load_digits(options: DataOptions) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.asarray(bunch.images, dtype=np.float32)[:, None] / 16.0
    return _split("digits", pixels, np.asarray(bunch.target, np.int64), DIGIT_CLASSES, 0.2)


def _load_idx_pair(options: DataOptions, name: str, default_dir: Path | None) -> Dataset:
    how_to_get = HOW_TO_GET[name]
    directory = options.data_dir or default_dir
    if directory is None:
        raise DatasetError(f"{name} needs --data-dir: {how_to_get}")
    if not directory.is_dir():
        raise DatasetError(f"{directory} does not exist: {how_to_get}")
    arrays = {
        stem: idx.read_idx(idx.find_idx(directory, stem, how_to_get), how_to_get)
        for stem in (
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
        )
    }  # fmt: skip
    train, test = arrays["train-images-idx3-ubyte"], arrays["t10k-images-idx3-ubyte"]
    train_labels, test_labels = arrays["train-labels-idx1-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    if (
        train.ndim != 3
        or test.ndim != 3
        or len(train) != len(train_labels)
        or len(test) != len(test_labels)
    ):
        raise DatasetError(
            f"{directory} holds IDX files whose images and labels disagree: {how_to_get}"
        )
    classes = FASHION_CLASSES if name == "fashion-mnist" else DIGIT_CLASSES
    return Dataset(
        name=name,
        train=_to_float(train[:, None]),
        test=_to_float(test[:, None]),
        train_labels=train_labels.astype(np.int64),
        test_labels=test_labels.astype(np.int64),
        class_names=classes,
    )


def _load_fashion(options: DataOptions) -> Dataset:
    return _load_idx_pair(options, "fashion-mnist", FASHION_MNIST_DIR)


def _load_mnist(options: DataOptions) -> Dataset:
    return _load_idx_pair(options, "mnist", None)


def _load_faces(options: DataOptions) -> Dataset:
    if options.data_dir is None:
        pixels = images.read_lfw_subset()
    else:
        pixels = images.read_image_directory(options.data_dir, options.image_size, options.channels)
    return _split("faces", pixels, np.full(len(pixels), -1, np.int64), (), 0.2)


def _load_cifar10(options: DataOptions) -> Dataset:
    if options.data_dir is None:
        raise DatasetError(f"cifar10 needs --data-dir: {cifar.HOW_TO_GET}")
    train, train_labels, test, test_labels, names = cifar.read_cifar10(options.data_dir)
    return Dataset("cifar10", _to_float(train), _to_float(test), train_labels, test_labels, names)


def _split(
    name: str,
    pixels: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    test_fraction: float,
) -> Dataset:
    """Split a dataset that ships without a test set, the same way every time."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(pixels))
    n_test = max(1, round(len(pixels) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return Dataset(name, pixels[train], pixels[test], labels[train], labels[test], classes)


def _filter_classes(dataset: Dataset, wanted: Sequence[str]) -> Dataset:
    if not wanted:
        return dataset
    if not dataset.class_names:
        raise DatasetError(f"{dataset.name} has no classes, so --classes cannot filter it")
    unknown = [c for c in wanted if c not in dataset.class_names]
    if unknown:
        raise DatasetError(
            f"unknown class {', '.join(unknown)} for {dataset.name}; "
            f"choose from {', '.join(dataset.class_names)}"
        )
    keep = np.array([dataset.class_names.index(c) for c in wanted])
    in_train, in_test = np.isin(dataset.train_labels, keep), np.isin(dataset.test_labels, keep)
    return Dataset(
        dataset.name,
        dataset.train[in_train],
        dataset.test[in_test],
        dataset.train_labels[in_train],
        dataset.test_labels[in_test],
        dataset.class_names,
    )


def _to_float(pixels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pixels, dtype=np.float32) / np.float32(255.0)


LOADERS: dict[str, Callable[[DataOptions], Dataset]] = {
    "digits": _load_digits,
    "fashion-mnist": _load_fashion,
    "mnist": _load_mnist,
    "faces": _load_faces,
    "cifar10": _load_cifar10,
}


def binarize(images: np.ndarray, seed: int) -> np.ndarray:
    """Draw each pixel once as Bernoulli(intensity): the fixed binarised test set."""
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape, dtype=np.float32) < images).astype(np.float32)
