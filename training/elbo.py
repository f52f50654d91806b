"""The VAE objective, in nats per image, and the importance-weighted bound.

Reconstruction is the negative log-likelihood of the image under p(x|z): Bernoulli
(binary cross-entropy on the logits) for grey images, a Gaussian with one learned scale for
colour ones. KL is the closed form against the standard normal prior. Every function
returns one value per image, summed over pixels or latent dimensions, so the caller
chooses how to average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional

from vaeserve.training.models import VAE

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ElboTerms:
    """Per-image reconstruction NLL and KL; their sum is the negative ELBO."""

    reconstruction: torch.Tensor
    kl: torch.Tensor

    @property
    def negative_elbo(self) -> torch.Tensor:
        return self.reconstruction + self.kl


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return mean + torch.exp(0.5 * log_var) * noise


def reconstruction_nll(model: VAE, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image, from the decoder's logits (broadcast over leading sample axes)."""
    if model.spec.likelihood == "bernoulli":
        x = x.expand_as(logits)
        nll = functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        scale = model.log_scale
        nll = 0.5 * ((x - torch.sigmoid(logits)) / scale.exp()) ** 2 + scale + 0.5 * LOG_2PI
    return nll.flatten(-3).sum(-1)


def kl_to_prior(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)


def elbo_terms(model: VAE, x: torch.Tensor, noise: torch.Tensor) -> ElboTerms:
    """One-sample estimate of the two terms, with the noise given so results are reproducible."""
    mean, log_var = model.encode(x)
    logits = model.decode_logits(reparameterize(mean, log_var, noise))
    return ElboTerms(reconstruction_nll(model, logits, x), kl_to_prior(mean, log_var))


@torch.no_grad()
def iwae_nll(
    model: VAE, x: torch.Tensor, k: int, generator: torch.Generator, chunk: int
) -> torch.Tensor:
    """-log p(x) per image, estimated by the k-sample importance-weighted bound (Burda et al.).

    Samples are drawn ``chunk`` at a time and combined with a running log-sum-exp, so k can be
    in the thousands without holding k decoded images at once.
    """
    mean, log_var = model.encode(x)
    std = torch.exp(0.5 * log_var)
    running = torch.full((len(x),), -math.inf)
    for start in range(0, k, chunk):
        size = min(chunk, k - start)
        eps = torch.randn((size, *mean.shape), generator=generator)
        z = mean + std * eps
        log_q = -0.5 * (eps.pow(2) + log_var + LOG_2PI).sum(-1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        logits = model.decode_logits(z.flatten(0, 1)).reshape(size, *x.shape)
        log_weights = log_prior - log_q - reconstruction_nll(model, logits, x)
        running = torch.logaddexp(running, torch.logsumexp(log_weights, dim=0))
    return -(running - math.log(k))
