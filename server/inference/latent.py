"""Latent-space arithmetic in numpy: reparameterised draws, prior samples, and paths.

Noise comes from a ``np.random.Generator`` seeded per request, so the same seed gives the
same latents on any machine with the same numpy (PCG64 is stable across versions).
"""

from __future__ import annotations

import secrets

import numpy as np

SEED_BITS = 63  # stays exact in clients whose integers are doubles (JavaScript)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def new_seed() -> int:
    """A fresh seed for a request that did not bring one; it is returned to the client."""
    return secrets.randbits(SEED_BITS)


def generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def reparameterise(mean: np.ndarray, log_var: np.ndarray, seed: int) -> np.ndarray:
    """z = mean + sigma * eps with eps ~ N(0, I): a draw from q(z|x)."""
    eps = generator(seed).standard_normal(mean.shape, dtype=np.float32)
    return (mean + np.exp(0.5 * log_var) * eps).astype(np.float32, copy=False)


def sample_prior(count: int, latent_dim: int, temperature: float, seed: int) -> np.ndarray:
    """``count`` draws from N(0, temperature^2 I), float32 [count, latent_dim]."""
    eps = generator(seed).standard_normal((count, latent_dim), dtype=np.float32)
    return eps * np.float32(temperature)


def _fractions(steps: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, steps, dtype=np.float64)[:, None]


def linear_path(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """z(t) = (1 - t) a + t b at ``steps`` evenly spaced t in [0, 1], ends included."""
    t = _fractions(steps)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return ((1.0 - t) * a64 + t * b64).astype(np.float32)


def spherical_path(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Great-circle walk of the direction, norm moving linearly from |a| to |b|.

    Points stay near the prior's typical radius instead of cutting through its sparse
    centre. Where the direction is undefined (a zero endpoint) or the endpoints are
    opposite, no great circle is singled out and the walk falls back to a straight line.
    """
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norm_a, norm_b = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if norm_a == 0.0 or norm_b == 0.0:
        return linear_path(a, b, steps)
    u, v = a64 / norm_a, b64 / norm_b
    omega = float(np.arccos(np.clip(np.dot(u, v), -1.0, 1.0)))
    sin_omega = np.sin(omega)
    if sin_omega < 1e-6 and omega > 1.0:
        return linear_path(a, b, steps)
    t = _fractions(steps)
    if sin_omega < 1e-6:
        direction = np.repeat(u[None, :], steps, axis=0)
    else:
        direction = (np.sin((1.0 - t) * omega) * u + np.sin(t * omega) * v) / sin_omega
    norms = (1.0 - t) * norm_a + t * norm_b
    path = direction * norms
    path[0], path[-1] = a64, b64
    # Between endpoints near the float32 limit the arc bulges past it; clip rather than let
    # the cast overflow to infinity.
    return np.clip(path, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)
