"""How good a trained VAE is: test negative ELBO and importance-weighted NLL, in nats per image.

Every estimate draws its noise from a generator seeded by the caller, so the same model and
seed give the same number. The binarised protocol of the VAE literature (pixels drawn once
as Bernoulli(intensity) with a fixed seed, Bernoulli likelihood) is
:func:`~vaeserve.training.datasets.binarize` applied to the test images before either estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaeserve.training.elbo import elbo_terms, iwae_nll
from vaeserve.training.models import VAE


@dataclass(frozen=True)
class ElboSummary:
    """Means over a dataset, in nats per image."""

    negative_elbo: float
    reconstruction: float
    kl: float


@torch.no_grad()
def negative_elbo(model: VAE, images: np.ndarray, seed: int, batch_size: int = 1000) -> ElboSummary:
    """One-sample estimate of the negative ELBO, averaged over ``images``."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    recon_total, kl_total = 0.0, 0.0
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start : start + batch_size])
        noise = torch.randn((len(x), model.spec.latent_dim), generator=generator)
        terms = elbo_terms(model, x, noise)
        recon_total += float(terms.reconstruction.sum())
        kl_total += float(terms.kl.sum())
    count = len(images)
    return ElboSummary((recon_total + kl_total) / count, recon_total / count, kl_total / count)


@torch.no_grad()
def importance_weighted_nll(
    model: VAE, images: np.ndarray, k: int, seed: int, batch_size: int = 100, chunk: int = 500
) -> float:
    """Mean k-sample IWAE estimate of -log p(x); tighter than the ELBO as k grows."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start : start + batch_size])
        total += float(iwae_nll(model, x, k, generator, min(chunk, k)).sum())
    return total / len(images)
