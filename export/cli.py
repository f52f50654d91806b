"""``vaeserve export``: a training checkpoint -> one version of an ONNX model repository.

Imports nothing heavy at module level; ``run`` checks the ``train`` extra first. Errors a
person can fix are printed once, as one line, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vaeserve.export.errors import ExportError
from vaeserve.extras import require_extra
from vaeserve.training.errors import TrainingError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to REPOSITORY/NAME/VERSION as ONNX graphs and a manifest",
        description="Export a training checkpoint as one model version the server can load: "
        "encoder.onnx (x -> mean, log_var), decoder.onnx (z -> image in [0, 1]) and "
        "manifest.json with SHA-256 hashes and the test negative ELBO measured from the "
        "exported graphs. The graphs are checked with onnx.checker and against PyTorch "
        "(max abs diff <= 1e-4 on batches 1, 7, 64); an existing version is kept unless --force.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="checkpoint.pt or its folder"
    )
    parser.add_argument(
        "--repository", type=Path, default=Path("models"), help="model repository root"
    )
    parser.add_argument("--name", required=True, help="model name, the folder under the repository")
    parser.add_argument("--version", type=int, default=1, help="positive integer version")
    parser.add_argument("--force", action="store_true", help="replace an existing version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require_extra("train", "torch", "onnx")
    if args.version < 1:
        return _fail(f"--version must be a positive integer, not {args.version}")
    try:
        from vaeserve.export.api import export_checkpoint

        manifest = export_checkpoint(
            args.checkpoint, args.repository, args.name, args.version, force=args.force
        )
    except (ExportError, TrainingError) as error:
        return _fail(str(error))
    target = args.repository / manifest.name / str(manifest.version)
    nelbo = manifest.training.test_negative_elbo_nats
    print(f"exported {target}: test negative ELBO {nelbo:.2f} nats/image")
    return 0


def _fail(message: str) -> int:
    print(f"vaeserve export: error: {message}", file=sys.stderr)
    return 2
