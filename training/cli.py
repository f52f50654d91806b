"""``vaeserve train`` and ``vaeserve evaluate``: the command-line edge of vaeserve.training.

Nothing heavy is imported here at module level, so ``vaeserve --help`` works without torch;
each ``run`` checks the ``train`` extra first, then imports. Errors a person can fix
(:class:`TrainingError`) are printed once, as one line, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vaeserve.extras import require_extra
from vaeserve.training.errors import TrainingError

DATASETS = "digits, mnist, fashion-mnist, faces, cifar10"


def add_parser(subparsers: Any) -> None:
    _add_train(subparsers)
    _add_evaluate(subparsers)


def _add_train(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a VAE and write checkpoints, history and figures",
        description="Train a VAE on a dataset. Each epoch logs train and test negative ELBO in "
        "nats per image (reconstruction + KL) and saves OUTPUT_DIR/checkpoint.pt; at the end "
        "PNG figures (samples, reconstructions, interpolation, loss curves, and the latent "
        "manifold when --latent-dim is 2) land in OUTPUT_DIR. Export the result with "
        "`vaeserve export`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="fashion-mnist", help=f"one of {DATASETS}")
    data.add_argument(
        "--data-dir",
        type=Path,
        help="where the files are (fashion-mnist defaults to /usr/share/datasets/fashion-mnist; "
        "faces defaults to scikit-image's lfw_subset)",
    )
    data.add_argument(
        "--classes", default="", help="comma-separated class names to keep, e.g. horse,automobile"
    )
    data.add_argument(
        "--image-size",
        type=int,
        default=32,
        help="side images from --data-dir are resized to (faces)",
    )
    data.add_argument(
        "--image-channels", type=int, choices=[1, 3], default=3, help="1 grey or 3 colour (faces)"
    )
    model = parser.add_argument_group("model")
    model.add_argument("--architecture", choices=["mlp", "conv"], default="mlp")
    model.add_argument("--latent-dim", type=int, default=32, help="2 gives a manifold plot")
    model.add_argument("--hidden", default="512,512", help="MLP hidden widths")
    model.add_argument(
        "--conv-channels", default="32,64", help="conv channels, each layer halves the size"
    )
    model.add_argument(
        "--conv-hidden", type=int, default=256, help="width of the conv model's dense layer"
    )
    loop = parser.add_argument_group("optimisation")
    loop.add_argument("--epochs", type=int, default=30)
    loop.add_argument("--batch-size", type=int, default=128)
    loop.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    loop.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    loop.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    loop.add_argument(
        "--warmup-epochs",
        type=float,
        default=0.0,
        help="epochs to ramp the KL weight from 0 to beta",
    )
    loop.add_argument(
        "--binarize", action="store_true", help="train on dynamically binarised pixels"
    )
    loop.add_argument("--seed", type=int, default=0)
    loop.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--output-dir", type=Path, default=Path("runs/train"))
    run_group.add_argument(
        "--resume", type=Path, help="checkpoint (or its folder) to continue from"
    )
    run_group.add_argument(
        "--stop-after", type=int, help="end this session after epoch N; continue with --resume"
    )
    run_group.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run_group.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.set_defaults(func=run)


def _add_evaluate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure test negative ELBO and importance-weighted NLL of a checkpoint",
        description="Evaluate a checkpoint on its dataset's test split: the 1-sample negative "
        "ELBO and the k-sample importance-weighted (IWAE) estimate of the negative "
        "log-likelihood, in nats per image. --binarize scores a fixed, seeded binarisation of "
        "the test images (the protocol of published MNIST tables; train with --binarize too).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="checkpoint.pt or its folder"
    )
    parser.add_argument(
        "--k", type=int, default=100, help="importance samples per image (up to 5000)"
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="score only the first N test images (0: all)"
    )
    parser.add_argument("--binarize", action="store_true", help="score binarised test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    parser.set_defaults(func=run_evaluate)


def run(args: argparse.Namespace) -> int:
    require_extra("train", "torch", "onnx")
    try:
        from vaeserve.training.commands import train_from_args

        train_from_args(args)
    except TrainingError as error:
        return _fail("train", error)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    require_extra("train", "torch", "onnx")
    try:
        from vaeserve.training.commands import evaluate_from_args

        result = evaluate_from_args(args)
    except TrainingError as error:
        return _fail("evaluate", error)
    print(json.dumps(result, indent=2))
    return 0


def _fail(command: str, error: Exception) -> int:
    print(f"vaeserve {command}: error: {error}", file=sys.stderr)
    return 2
