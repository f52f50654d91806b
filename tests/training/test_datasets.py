"""Every loader yields float32 [N, C, H, W] in [0, 1] and fails with one clear error."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from vaeserve.training.datasets import FASHION_MNIST_DIR, DataOptions, binarize, load_dataset
from vaeserve.training.errors import DatasetError


def assert_images(array: np.ndarray, shape: tuple[int, ...]) -> None:
    assert array.dtype == np.float32
    assert array.shape == shape
    assert array.min() >= 0.0 and array.max() <= 1.0


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_idx_files_load_as_scaled_float_images(tmp_path: Path, gz: bool, idx_writer) -> None:
    arrays = idx_writer(tmp_path / "mnist", gz=gz)
    dataset = load_dataset(DataOptions("mnist", data_dir=tmp_path / "mnist"))
    assert_images(dataset.train, (12, 1, 6, 5))
    assert_images(dataset.test, (4, 1, 6, 5))
    np.testing.assert_array_equal(dataset.train[:, 0] * 255, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(dataset.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert dataset.likelihood == "bernoulli"


def test_missing_idx_file_names_the_path_and_how_to_get_it(idx_dir: Path) -> None:
    (idx_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\(\.gz\) is missing: download"):
        load_dataset(DataOptions("mnist", data_dir=idx_dir))


def test_truncated_idx_file_is_reported_as_corrupt(idx_dir: Path) -> None:
    path = idx_dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-7]))
    with pytest.raises(DatasetError, match=f"{path} is not a readable IDX file"):
        load_dataset(DataOptions("mnist", data_dir=idx_dir))


def test_broken_gzip_is_reported_as_corrupt(idx_dir: Path) -> None:
    path = idx_dir / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=f"{path} is not a readable IDX file"):
        load_dataset(DataOptions("mnist", data_dir=idx_dir))


def test_missing_data_directory_says_how_to_get_fashion_mnist(tmp_path: Path) -> None:
    with pytest.raises(
        DatasetError, match="does not exist: install Debian's dataset-fashion-mnist"
    ):
        load_dataset(DataOptions("fashion-mnist", data_dir=tmp_path / "nowhere"))


def test_cifar_batches_load_with_a_class_filter(cifar_dir: Path) -> None:
    options = DataOptions("cifar10", data_dir=cifar_dir, classes=("horse", "automobile"))
    dataset = load_dataset(options)
    assert_images(dataset.train, (10, 3, 32, 32))
    assert_images(dataset.test, (2, 3, 32, 32))
    assert set(dataset.train_labels) == {1, 7}
    assert dataset.likelihood == "gaussian"


def test_cifar_needs_a_directory() -> None:
    with pytest.raises(DatasetError, match="cifar10 needs --data-dir"):
        load_dataset(DataOptions("cifar10"))


def test_missing_cifar_batch_names_the_path(cifar_dir: Path) -> None:
    (cifar_dir / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3 is missing: download cifar-10"):
        load_dataset(DataOptions("cifar10", data_dir=cifar_dir))


def test_corrupt_cifar_pickle_names_the_path(cifar_dir: Path) -> None:
    (cifar_dir / "test_batch").write_bytes(pickle.dumps({b"data": [1, 2, 3]})[:-4])
    with pytest.raises(DatasetError, match="test_batch is not a readable CIFAR-10 pickle"):
        load_dataset(DataOptions("cifar10", data_dir=cifar_dir))


def test_image_directory_is_read_recursively_and_resized(image_dir: Path) -> None:
    dataset = load_dataset(DataOptions("faces", data_dir=image_dir, image_size=16, channels=3))
    assert_images(dataset.train, (8, 3, 16, 16))
    assert_images(dataset.test, (2, 3, 16, 16))


def test_unreadable_image_names_the_file(image_dir: Path) -> None:
    (image_dir / "broken.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(DatasetError, match=r"broken\.png is not a readable image"):
        load_dataset(DataOptions("faces", data_dir=image_dir))


def test_empty_image_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="holds no image files"):
        load_dataset(DataOptions("faces", data_dir=tmp_path))


def test_digits_ship_with_scikit_learn() -> None:
    dataset = load_dataset(DataOptions("digits"))
    assert_images(dataset.train, (1438, 1, 8, 8))
    assert_images(dataset.test, (359, 1, 8, 8))
    assert dataset.class_names[3] == "3"


def test_lfw_subset_gives_the_hundred_faces() -> None:
    dataset = load_dataset(DataOptions("faces"))
    assert_images(dataset.train, (80, 1, 25, 25))
    assert_images(dataset.test, (20, 1, 25, 25))


def test_split_is_the_same_every_time() -> None:
    first, second = load_dataset(DataOptions("faces")), load_dataset(DataOptions("faces"))
    np.testing.assert_array_equal(first.test, second.test)


@pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is absent"
)
def test_fashion_mnist_loads_from_the_debian_directory() -> None:
    dataset = load_dataset(DataOptions("fashion-mnist", classes=("bag",)))
    assert_images(dataset.train, (6000, 1, 28, 28))
    assert_images(dataset.test, (1000, 1, 28, 28))


def test_unknown_class_lists_the_valid_ones() -> None:
    with pytest.raises(DatasetError, match="unknown class seven for digits; choose from 0, 1"):
        load_dataset(DataOptions("digits", classes=("seven",)))


def test_classes_cannot_filter_an_unlabelled_dataset() -> None:
    with pytest.raises(DatasetError, match="faces has no classes"):
        load_dataset(DataOptions("faces", classes=("smile",)))


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'; choose one of digits"):
        load_dataset(DataOptions("imagenet"))


def test_binarize_draws_each_pixel_once_and_the_same_way_for_a_seed() -> None:
    grey = np.full((2, 1, 6, 5), 0.5, np.float32)
    drawn = binarize(grey, seed=3)
    assert set(np.unique(drawn)) == {0.0, 1.0}
    np.testing.assert_array_equal(drawn, binarize(grey, seed=3))
    np.testing.assert_array_equal(binarize(np.ones_like(grey), 3), np.ones_like(grey))
    np.testing.assert_array_equal(binarize(np.zeros_like(grey), 3), np.zeros_like(grey))
