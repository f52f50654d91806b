"""Prove the exported graphs compute what the PyTorch model computes.

Random inputs of several batch sizes go through both; the largest absolute difference on
``mean``, ``log_var`` and the decoded image must stay within the tolerance, or export fails.
Batches of 1, 7 and 64 exercise the dynamic batch axis as well as the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from vaeserve.export.errors import ParityError
from vaeserve.training.models import VAE

BATCH_SIZES = (1, 7, 64)
TOLERANCE = 1e-4


def session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@torch.no_grad()
def check_parity(
    model: VAE,
    encoder_path: Path,
    decoder_path: Path,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    tolerance: float = TOLERANCE,
) -> float:
    """Return the worst absolute difference seen; raise ParityError if it exceeds ``tolerance``."""
    model.eval()
    encoder, decoder = session(encoder_path), session(decoder_path)
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch in batch_sizes:
        x = rng.random((batch, *model.spec.image_shape), dtype=np.float32)
        z = rng.standard_normal((batch, model.spec.latent_dim)).astype(np.float32)
        mean, log_var = model.encode(torch.from_numpy(x))
        onnx_mean, onnx_log_var = encoder.run(["mean", "log_var"], {"x": x})
        (onnx_image,) = decoder.run(["x"], {"z": z})
        pairs = {
            "mean": (onnx_mean, mean.numpy()),
            "log_var": (onnx_log_var, log_var.numpy()),
            "decoded image": (onnx_image, model.decode(torch.from_numpy(z)).numpy()),
        }
        for name, (ours, reference) in pairs.items():
            if ours.shape != reference.shape:
                raise ParityError(
                    f"{name} at batch {batch}: ONNX shape {ours.shape}, PyTorch {reference.shape}"
                )
            difference = float(np.max(np.abs(ours - reference)))
            if not difference <= tolerance:
                raise ParityError(
                    f"{name} at batch {batch}: onnxruntime and PyTorch differ by {difference:.3g} "
                    f"(tolerance {tolerance:g}); the export is wrong, not saved"
                )
            worst = max(worst, difference)
    return worst
