"""The committed default models: intact, shaped as contract 1 says, and as good as promised."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

import vaeserve.models
from vaeserve.manifest import Manifest, read_manifest, verify_files

REPOSITORY = Path(vaeserve.models.__file__).parent
DEFAULT_MODELS = ("fashion-mnist", "fashion-mnist-2d", "fashion-mnist-conv", "faces")
MLP_BASELINE_NATS = 238.5


def manifest_of(name: str) -> Manifest:
    return read_manifest(REPOSITORY / name / "1")


@pytest.mark.parametrize("name", DEFAULT_MODELS)
def test_default_model_files_match_their_manifest(name: str) -> None:
    manifest = manifest_of(name)
    assert (manifest.name, manifest.version) == (name, 1)
    verify_files(REPOSITORY / name / "1", manifest)


@pytest.mark.parametrize("name", DEFAULT_MODELS)
def test_default_model_graphs_have_contract_1_shapes(name: str) -> None:
    manifest = manifest_of(name)
    folder = REPOSITORY / name / "1"
    options = {"providers": ["CPUExecutionProvider"]}
    encoder = onnxruntime.InferenceSession(str(folder / "encoder.onnx"), **options)
    decoder = onnxruntime.InferenceSession(str(folder / "decoder.onnx"), **options)
    x = np.full((3, *manifest.image_shape.as_tuple()), 0.5, np.float32)
    mean, log_var = encoder.run(["mean", "log_var"], {"x": x})
    assert mean.shape == log_var.shape == (3, manifest.latent_dim)
    (images,) = decoder.run(["x"], {"z": mean})
    assert images.shape == x.shape
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("name", DEFAULT_MODELS)
def test_default_model_records_its_measured_test_nelbo(name: str) -> None:
    training = manifest_of(name).training
    assert math.isfinite(training.test_negative_elbo_nats) and training.test_negative_elbo_nats > 0
    assert training.details["estimate"].startswith("1-sample ELBO from the exported ONNX graphs")
    assert training.details["parity_max_abs_diff"] <= 1e-4


def test_fashion_mnist_mlp_beats_the_baseline_within_30_epochs() -> None:
    manifest = manifest_of("fashion-mnist")
    assert (manifest.architecture, manifest.dataset) == ("mlp", "fashion-mnist")
    assert manifest.latent_dim >= 16
    assert manifest.training.epochs <= 30
    assert manifest.training.details["test_images"] == 10_000
    assert manifest.training.test_negative_elbo_nats < MLP_BASELINE_NATS


def test_conv_model_beats_the_mlp() -> None:
    conv, mlp = manifest_of("fashion-mnist-conv"), manifest_of("fashion-mnist")
    assert conv.architecture == "conv"
    assert conv.training.test_negative_elbo_nats < mlp.training.test_negative_elbo_nats


def test_manifold_model_has_a_two_dimensional_latent() -> None:
    assert manifest_of("fashion-mnist-2d").latent_dim == 2


def test_faces_model_is_convolutional_on_lfw_faces() -> None:
    manifest = manifest_of("faces")
    assert (manifest.architecture, manifest.dataset) == ("conv", "faces")
    assert manifest.image_shape.as_tuple() == (1, 25, 25)


def test_fashion_models_name_their_classes() -> None:
    assert manifest_of("fashion-mnist").class_names[-1] == "ankle-boot"
