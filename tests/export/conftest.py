"""A briefly trained digits checkpoint and its export, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaeserve.export import export_checkpoint
from vaeserve.manifest import Manifest
from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import DataOptions
from vaeserve.training.trainer import train


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(
        output_dir=tmp_path_factory.mktemp("run"),
        data=DataOptions("digits"),
        latent_dim=4,
        hidden=(64,),
        epochs=3,
        batch_size=64,
        progress=False,
        figures=False,
    )
    return train(config).checkpoint


@pytest.fixture(scope="session")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """The version folder and manifest of ``checkpoint`` exported as digits/1."""
    repository = tmp_path_factory.mktemp("repository")
    manifest = export_checkpoint(checkpoint, repository, "digits", 1)
    return repository / "digits" / "1", manifest
