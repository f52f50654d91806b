"""Measure test negative ELBO from the exported graphs themselves, as the manifest records it.

This is what the server will run, so the number in manifest.json describes the files next to
it, not the PyTorch model they came from. The likelihood terms are computed in numpy from the
decoder's mean image; probabilities are clipped away from 0 and 1 so the Bernoulli log stays
finite (float32 sigmoid saturates where the logits would not).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vaeserve.export.parity import session
from vaeserve.training.evaluate import ElboSummary

EPSILON = 1e-7


def onnx_negative_elbo(
    encoder_path: Path,
    decoder_path: Path,
    images: np.ndarray,
    likelihood: str,
    log_scale: float,
    seed: int,
    batch_size: int = 1000,
) -> ElboSummary:
    """One-sample estimate of the test negative ELBO in nats per image, from the ONNX files."""
    encoder, decoder = session(encoder_path), session(decoder_path)
    rng = np.random.default_rng(seed)
    recon_total, kl_total = 0.0, 0.0
    for start in range(0, len(images), batch_size):
        x = np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32)
        mean, log_var = encoder.run(["mean", "log_var"], {"x": x})
        noise = rng.standard_normal(mean.shape).astype(np.float32)
        z = (mean + np.exp(0.5 * log_var) * noise).astype(np.float32)
        (decoded,) = decoder.run(["x"], {"z": z})
        recon_total += float(_reconstruction_nll(x, decoded, likelihood, log_scale).sum())
        kl_total += float((0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var)).sum())
    count = len(images)
    return ElboSummary((recon_total + kl_total) / count, recon_total / count, kl_total / count)


def _reconstruction_nll(
    x: np.ndarray, decoded: np.ndarray, likelihood: str, log_scale: float
) -> np.ndarray:
    flat_x = x.reshape(len(x), -1).astype(np.float64)
    flat_p = decoded.reshape(len(x), -1).astype(np.float64)
    if likelihood == "bernoulli":
        p = np.clip(flat_p, EPSILON, 1.0 - EPSILON)
        nll: np.ndarray = -(flat_x * np.log(p) + (1.0 - flat_x) * np.log1p(-p)).sum(1)
        return nll
    squared = ((flat_x - flat_p) / math.exp(log_scale)) ** 2
    gaussian: np.ndarray = (0.5 * squared + log_scale + 0.5 * math.log(2.0 * math.pi)).sum(1)
    return gaussian
