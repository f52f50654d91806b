"""The two convenient ways in: from a checkpoint file, or from a fresh untrained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaeserve.export.writer import ExportRequest, ensure_free, export_model
from vaeserve.manifest import Manifest
from vaeserve.training.checkpoint import data_options, load_checkpoint
from vaeserve.training.datasets import binarize, load_dataset
from vaeserve.training.models import ModelSpec, build_model
from vaeserve.training.trainer import TEST_SEED


def export_checkpoint(
    checkpoint: Path, repository: Path, name: str, version: int = 1, *, force: bool = False
) -> Manifest:
    """Export a training checkpoint, measuring test NELBO on the dataset it was trained on."""
    ensure_free(repository, name, version, force=force)
    loaded = load_checkpoint(checkpoint)
    config = loaded.config
    test = load_dataset(data_options(config)).test
    if config["binarize"]:
        test = binarize(test, TEST_SEED)
    last = loaded.history[-1] if loaded.history else {}
    details = {
        "seed": config["seed"],
        "architecture_spec": loaded.model.spec.to_dict(),
        "binarized": bool(config["binarize"]),
        "beta": config["beta"],
        "train_negative_elbo_nats": last.get("train_negative_elbo"),
        "seconds_per_epoch": _mean_seconds(loaded.history),
    }
    request = ExportRequest(
        model=loaded.model,
        repository=repository,
        name=name,
        version=version,
        test_images=test,
        dataset=loaded.dataset,
        epochs=loaded.epoch,
        class_names=loaded.class_names,
        details=details,
        force=force,
    )
    return export_model(request)


def export_untrained(
    repository: Path,
    name: str = "untrained",
    version: int = 1,
    *,
    image_shape: tuple[int, int, int] = (1, 8, 8),
    latent_dim: int = 2,
    architecture: str = "mlp",
    seed: int = 0,
    force: bool = False,
) -> Manifest:
    """Export a freshly initialised small VAE (seeded), e.g. for a test's temporary repository.

    Its test NELBO is measured on 32 seeded uniform-noise images: a real number for a model
    that has learnt nothing. Colour shapes (3 channels) get a Gaussian likelihood.
    """
    torch.manual_seed(seed)
    likelihood = "bernoulli" if image_shape[0] == 1 else "gaussian"
    spec = ModelSpec(
        architecture,
        image_shape,
        latent_dim,
        likelihood,
        hidden=(32,),
        channels=(8,),
        conv_hidden=32,
    )
    images = np.random.default_rng(seed).random((32, *image_shape), dtype=np.float32)
    request = ExportRequest(
        model=build_model(spec),
        repository=repository,
        name=name,
        version=version,
        test_images=images,
        dataset="untrained",
        epochs=0,
        details={"seed": seed, "note": "freshly initialised, never trained"},
        force=force,
    )
    return export_model(request)


def _mean_seconds(history: list[dict[str, float]]) -> float | None:
    seconds = [row["seconds"] for row in history]
    return sum(seconds) / len(seconds) if seconds else None
