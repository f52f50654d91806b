"""The training loop: seeded, resumable, one checkpoint per epoch, figures at the end.

Reproducibility: the shuffle order and the noise of epoch ``e`` come from generators seeded
by ``(seed, e)`` alone, so a run resumed from a checkpoint takes exactly the steps the
uninterrupted run would have taken.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm  # type: ignore[import-untyped]

from vaeserve.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import Dataset, binarize, load_dataset
from vaeserve.training.elbo import elbo_terms
from vaeserve.training.errors import CheckpointError
from vaeserve.training.evaluate import ElboSummary, negative_elbo
from vaeserve.training.models import VAE, ModelSpec, build_model

logger = logging.getLogger(__name__)
HISTORY_FILE = "history.json"
TEST_SEED = 12345
EPOCH_LINE = (
    "epoch %d/%d %.1fs  train %.2f (recon %.2f + KL %.2f)  "
    "test %.2f (recon %.2f + KL %.2f) nats/image"
)
EPOCH_KEYS = tuple(
    f"{split}_{term}"
    for split in ("train", "test")
    for term in ("negative_elbo", "reconstruction", "kl")
)


@dataclass(frozen=True)
class TrainResult:
    model: VAE
    history: list[dict[str, float]]
    checkpoint: Path


def model_spec(config: TrainConfig, dataset: Dataset) -> ModelSpec:
    return ModelSpec(
        architecture=config.architecture,
        image_shape=dataset.image_shape,
        latent_dim=config.latent_dim,
        likelihood="bernoulli" if config.binarize else dataset.likelihood,
        hidden=config.hidden,
        channels=config.channels,
        conv_hidden=config.conv_hidden,
    )


def train(config: TrainConfig, dataset: Dataset | None = None) -> TrainResult:
    """Train (or resume) the model ``config`` describes; return it with its history."""
    dataset = dataset or load_dataset(config.data)
    torch.manual_seed(config.seed)
    spec = model_spec(config, dataset)
    model = build_model(spec)
    steps_per_epoch = math.ceil(len(dataset.train) / config.batch_size)
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], config.learning_rate
    )
    total_steps = steps_per_epoch * config.epochs if config.schedule == "cosine" else 1
    scheduler = _scheduler(optimizer, config.schedule, total_steps)
    start_epoch, history = 0, list[dict[str, float]]()
    if config.resume is not None:
        start_epoch, history = _resume(config.resume, config, spec, model, optimizer, scheduler)
    test_images = binarize(dataset.test, TEST_SEED) if config.binarize else dataset.test
    train_images = torch.from_numpy(dataset.train)
    path = config.output_dir / CHECKPOINT_FILE
    for epoch in range(start_epoch + 1, (config.stop_after or config.epochs) + 1):
        began = time.perf_counter()
        train_stats = _train_epoch(model, optimizer, scheduler, train_images, config, epoch)
        seconds = time.perf_counter() - began
        test = negative_elbo(model, test_images, TEST_SEED, config.eval_batch_size)
        row = {"epoch": epoch, "seconds": seconds, **train_stats, **_test_stats(test)}
        history.append(row)
        logger.info(EPOCH_LINE, epoch, config.epochs, seconds, *(row[key] for key in EPOCH_KEYS))
        save_checkpoint(
            path, _state(config, dataset, spec, model, optimizer, scheduler, epoch, history)
        )
    (config.output_dir / HISTORY_FILE).parent.mkdir(parents=True, exist_ok=True)
    (config.output_dir / HISTORY_FILE).write_text(json.dumps(history, indent=2) + "\n")
    if config.figures:
        from vaeserve.training.figures import write_figures

        write_figures(model, dataset, history, config.output_dir, config.seed)
    return TrainResult(model, history, path)


def _train_epoch(
    model: VAE,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    images: torch.Tensor,
    config: TrainConfig,
    epoch: int,
) -> dict[str, float]:
    model.train()
    generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    order = torch.randperm(len(images), generator=generator)
    steps_per_epoch = math.ceil(len(images) / config.batch_size)
    warmup_steps = config.warmup_epochs * steps_per_epoch
    sums = np.zeros(2)
    bar = tqdm(
        range(steps_per_epoch), desc=f"epoch {epoch}", disable=not config.progress, leave=False
    )
    for step in bar:
        x = images[order[step * config.batch_size : (step + 1) * config.batch_size]]
        if config.binarize:
            x = torch.bernoulli(x, generator=generator)
        noise = torch.randn((len(x), config.latent_dim), generator=generator)
        terms = elbo_terms(model, x, noise)
        global_step = (epoch - 1) * steps_per_epoch + step
        weight = (
            config.beta * min(1.0, (global_step + 1) / warmup_steps)
            if warmup_steps
            else config.beta
        )
        loss = (terms.reconstruction + weight * terms.kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        scheduler.step()
        sums += [float(terms.reconstruction.detach().sum()), float(terms.kl.detach().sum())]
        if step % 20 == 0:
            bar.set_postfix(
                nelbo=f"{sums.sum() / min(len(images), (step + 1) * config.batch_size):.2f}"
            )
    recon, kl = (float(v) for v in sums / len(images))
    return {"train_negative_elbo": recon + kl, "train_reconstruction": recon, "train_kl": kl}


def _test_stats(test: ElboSummary) -> dict[str, float]:
    return {
        "test_negative_elbo": test.negative_elbo,
        "test_reconstruction": test.reconstruction,
        "test_kl": test.kl,
    }


def _scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def _resume(
    path: Path,
    config: TrainConfig,
    spec: ModelSpec,
    model: VAE,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[int, list[dict[str, float]]]:
    checkpoint = load_checkpoint(path)
    if checkpoint.model.spec != spec:
        raise CheckpointError(f"{path} holds a {checkpoint.model.spec}, not the requested {spec}")
    planned = int(checkpoint.config["epochs"])
    if config.schedule == "cosine" and planned != config.epochs:
        raise CheckpointError(
            f"{path}: its cosine schedule spans {planned} epochs; resume with --epochs {planned}"
        )
    model.load_state_dict(checkpoint.model.state_dict())
    optimizer.load_state_dict(checkpoint.optimizer_state)
    scheduler.load_state_dict(checkpoint.scheduler_state)
    logger.info("resuming from %s after epoch %d", path, checkpoint.epoch)
    return checkpoint.epoch, checkpoint.history


def _state(
    config: TrainConfig,
    dataset: Dataset,
    spec: ModelSpec,
    model: VAE,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    history: list[dict[str, float]],
) -> dict[str, object]:
    return {
        "spec": spec.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "history": history,
        "config": config.to_dict(),
        "dataset": dataset.name,
        "class_names": list(dataset.class_names),
    }
