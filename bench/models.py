"""Find the model versions a benchmark runs on, straight from the repository's manifests.

The benchmark's baselines must not depend on the server's own repository code (they are
the yardstick it is measured against), so they read contract 1 with :mod:`vaeserve.manifest`
alone: the highest version of each named model, as the server serves by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaeserve.bench.config import ModelShape
from vaeserve.manifest import DECODER_FILE, ENCODER_FILE, read_manifest


class BenchModelError(LookupError):
    """A model the benchmark was asked to run is not in the repository."""


@dataclass(frozen=True)
class BenchModel:
    shape: ModelShape
    version_dir: Path

    @property
    def encoder_path(self) -> Path:
        return self.version_dir / ENCODER_FILE

    @property
    def decoder_path(self) -> Path:
        return self.version_dir / DECODER_FILE


def find_model(repository: Path, name: str) -> BenchModel:
    """The highest version of ``name`` in ``repository``."""
    model_dir = repository / name
    versions = (
        [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()]
        if model_dir.is_dir()
        else []
    )
    if not versions:
        raise BenchModelError(
            f"no version of model {name!r} in {repository}: pass --models with names the "
            "repository holds, or --model-repository"
        )
    version_dir = model_dir / str(max(versions))
    manifest = read_manifest(version_dir)
    image = manifest.image_shape
    shape = ModelShape(name, manifest.latent_dim, image.channels, image.height, image.width)
    return BenchModel(shape=shape, version_dir=version_dir)
