"""Turn parsed ``vaeserve train`` / ``vaeserve evaluate`` arguments into calls (imports torch)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from vaeserve.training.checkpoint import data_options, load_checkpoint
from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import DataOptions, binarize, load_dataset
from vaeserve.training.errors import ConfigError
from vaeserve.training.evaluate import importance_weighted_nll, negative_elbo
from vaeserve.training.trainer import TEST_SEED, train

MAX_K = 5000


def train_from_args(args: argparse.Namespace) -> None:
    _set_threads(args.threads)
    config = TrainConfig(
        output_dir=args.output_dir,
        data=DataOptions(
            name=args.dataset,
            data_dir=args.data_dir,
            classes=_names(args.classes),
            image_size=args.image_size,
            channels=args.image_channels,
        ),
        architecture=args.architecture,
        latent_dim=args.latent_dim,
        hidden=_widths(args.hidden, "--hidden"),
        channels=_widths(args.conv_channels, "--conv-channels"),
        conv_hidden=args.conv_hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        schedule=args.schedule,
        beta=args.beta,
        warmup_epochs=args.warmup_epochs,
        binarize=args.binarize,
        seed=args.seed,
        resume=args.resume,
        stop_after=args.stop_after,
        progress=not args.no_progress,
        figures=not args.no_figures,
    )
    result = train(config)
    print(
        f"checkpoint {result.checkpoint}, figures and history.json in {config.output_dir}; "
        f"export with: vaeserve export --checkpoint {config.output_dir} --name NAME"
    )


def evaluate_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if not 1 <= args.k <= MAX_K:
        raise ConfigError(f"--k must be between 1 and {MAX_K}, not {args.k}")
    if args.limit < 0:
        raise ConfigError(f"--limit must not be negative, not {args.limit}")
    _set_threads(args.threads)
    loaded = load_checkpoint(args.checkpoint)
    test = load_dataset(data_options(loaded.config)).test
    if args.limit:
        test = test[: args.limit]
    if args.binarize:
        if loaded.model.spec.likelihood != "bernoulli":
            raise ConfigError("--binarize needs a Bernoulli (grey-image) model")
        test = binarize(test, TEST_SEED)
    began = time.perf_counter()
    elbo = negative_elbo(loaded.model, test, args.seed)
    iwae = importance_weighted_nll(loaded.model, test, args.k, args.seed)
    result = {
        "checkpoint": str(args.checkpoint), "dataset": loaded.dataset, "epochs": loaded.epoch,
        "test_images": len(test), "binarized": bool(args.binarize), "k": args.k,
        "test_negative_elbo": elbo.negative_elbo, "test_reconstruction": elbo.reconstruction,
        "test_kl": elbo.kl, "iwae_nll": iwae, "seconds": time.perf_counter() - began,
    }  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _widths(text: str, option: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError as error:
        raise ConfigError(f"{option} takes comma-separated integers, not {text!r}") from error
    return widths
