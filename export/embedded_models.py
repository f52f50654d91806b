"""Train and export the embedded models: ``python -m vaeserve.export.embedded_models``.

One reproducible command (``make models`` runs it) produces every model under models/. It
lives on the export side because it does both: it drives training, then exports what it
trained; training never imports export (a test pins that direction).

=====================  =======  ==============================================================
name                   model    purpose
=====================  =======  ==============================================================
fashion-mnist          MLP      the default model; 2x512 hidden, 32-d latent, Adam + cosine LR
fashion-mnist-2d       MLP      2-d latent, for the manifold scan
fashion-mnist-conv     conv     convolutional, sharper than the MLP
faces                  conv     scikit-image's lfw_subset faces (80 train, 20 test)
=====================  =======  ==============================================================

Each model trains with one torch thread and a fixed seed, so a rerun on the same software
reproduces the same weights; checkpoints, logs and figures go to ``--runs-dir``. A model
whose checkpoint already holds every epoch is not trained again, only exported; pass
``--only`` to run some of them (e.g. in parallel processes).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from vaeserve.export.api import export_checkpoint
from vaeserve.export.errors import ExportError
from vaeserve.training.checkpoint import CHECKPOINT_FILE, load_checkpoint
from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import DataOptions, load_dataset
from vaeserve.training.errors import ConfigError, TrainingError
from vaeserve.training.figures import write_figures
from vaeserve.training.trainer import train

logger = logging.getLogger("vaeserve.export.embedded_models")
FASHION = DataOptions("fashion-mnist")
PLACEHOLDER = Path(".")
MLP = TrainConfig(PLACEHOLDER, FASHION, "mlp", latent_dim=32, hidden=(512, 512), epochs=30)
EMBEDDED_MODELS: dict[str, TrainConfig] = {
    "fashion-mnist": replace(MLP, batch_size=32),
    "fashion-mnist-2d": replace(MLP, latent_dim=2),
    "fashion-mnist-conv": replace(
        MLP, architecture="conv", channels=(32, 64, 128), conv_hidden=512
    ),
    "faces": TrainConfig(
        PLACEHOLDER,
        DataOptions("faces"),
        "conv",
        latent_dim=16,
        channels=(32, 64),
        conv_hidden=256,
        epochs=150,
        batch_size=16,
        warmup_epochs=20,
    ),
}


def build_and_export(
    name: str, repository: Path, runs_dir: Path, *, force: bool, progress: bool
) -> None:
    """Train ``name`` unless its finished checkpoint is already there, then export version 1.

    A model whose version 1 is already in the repository is left alone unless ``force``, so
    ``make models`` on a fresh clone (models committed, no runs/) does not train for an hour
    only to be refused at export.
    """
    if (repository / name / "1").exists() and not force:
        logger.info("%s: %s exists; pass --force to rebuild it", name, repository / name / "1")
        return
    config = replace(EMBEDDED_MODELS[name], output_dir=runs_dir / name, progress=progress)
    checkpoint = config.output_dir / CHECKPOINT_FILE
    saved = load_checkpoint(checkpoint) if checkpoint.is_file() else None
    if saved is not None and _recipe(saved.config) != _recipe(config.to_dict()):
        raise ConfigError(f"{checkpoint} was trained with other settings; move it away first")
    if saved is not None and saved.epoch >= config.epochs:
        logger.info("%s: %s already holds %d epochs; exporting it", name, checkpoint, config.epochs)
        dataset = load_dataset(config.data)
        write_figures(saved.model, dataset, saved.history, config.output_dir, config.seed)
    else:
        train(replace(config, resume=checkpoint if saved else None))
    manifest = export_checkpoint(checkpoint, repository, name, 1, force=force)
    logger.info("%s: exported, test negative ELBO %.2f nats/image (ONNX)", name,
                manifest.training.test_negative_elbo_nats)  # fmt: skip


def _recipe(config: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide the weights; where the run writes and what it shows do not."""
    ignored = {"output_dir", "resume", "stop_after", "progress", "figures"}
    return {key: value for key, value in config.items() if key not in ignored}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vaeserve.export.embedded_models",
        description="Train and export the embedded default models (version 1 of each).",
    )
    parser.add_argument(
        "--repository", type=Path, default=Path("models"), help="model repository to write"
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs/defaults"), help="checkpoints, logs, figures"
    )
    parser.add_argument(
        "--only", nargs="+", choices=sorted(EMBEDDED_MODELS), help="just these models"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace versions already in the repository"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars (for logs)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    torch.set_num_threads(1)
    for name in args.only or list(EMBEDDED_MODELS):
        try:
            build_and_export(
                name,
                args.repository,
                args.runs_dir,
                force=args.force,
                progress=not args.no_progress,
            )
        except (TrainingError, ExportError) as error:
            print(f"{parser.prog}: error: {name}: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
