"""The PNG figures a person looks at after training.

Image grids are assembled in numpy and written with Pillow (exact pixels, no axes); the
loss curves use matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaeserve.training.datasets import Dataset
from vaeserve.training.models import VAE

GRID = 8
MANIFOLD_STEPS = 20
INTERPOLATION_STEPS = 10


def write_figures(
    model: VAE, dataset: Dataset, history: Sequence[dict[str, float]], directory: Path, seed: int
) -> list[Path]:
    """Write every figure that applies to this model into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    written = [
        _save(directory / "samples.png", _samples(model, generator)),
        _save(directory / "reconstructions.png", _reconstructions(model, dataset.test[: GRID * 2])),
        _save(directory / "interpolation.png", _interpolation(model, dataset.test[:2])),
    ]
    if model.spec.latent_dim == 2:
        written.append(_save(directory / "manifold.png", _manifold(model)))
    if history:
        written.append(_loss_curves(history, directory / "loss_curves.png"))
    return written


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """Lay [N, C, H, W] images out row by row with a one-pixel gap, as uint8 H x W (x C)."""
    count, channels, height, width = images.shape
    rows = -(-count // columns)
    canvas = np.ones((channels, rows * (height + 1) - 1, columns * (width + 1) - 1), np.float32)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        canvas[
            :,
            row * (height + 1) : row * (height + 1) + height,
            col * (width + 1) : col * (width + 1) + width,
        ] = image
    pixels = (np.clip(canvas, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return pixels[0] if channels == 1 else pixels.transpose(1, 2, 0)


@torch.no_grad()
def _samples(model: VAE, generator: torch.Generator) -> np.ndarray:
    z = torch.randn((GRID * GRID, model.spec.latent_dim), generator=generator)
    return tile(model.decode(z).numpy(), GRID)


@torch.no_grad()
def _reconstructions(model: VAE, originals: np.ndarray) -> np.ndarray:
    """Originals on odd rows, their reconstructions (decoded means) just below."""
    mean, _ = model.encode(torch.from_numpy(originals))
    decoded = model.decode(mean).numpy()
    rows = [
        part
        for i in range(0, len(originals), GRID)
        for part in (originals[i : i + GRID], decoded[i : i + GRID])
    ]
    return tile(np.concatenate(rows), GRID)


@torch.no_grad()
def _interpolation(model: VAE, pair: np.ndarray) -> np.ndarray:
    mean, _ = model.encode(torch.from_numpy(pair))
    weights = torch.linspace(0.0, 1.0, INTERPOLATION_STEPS)[:, None]
    path = (1 - weights) * mean[0] + weights * mean[1]
    strip = np.concatenate([pair[:1], model.decode(path).numpy(), pair[1:]])
    return tile(strip, len(strip))


@torch.no_grad()
def _manifold(model: VAE) -> np.ndarray:
    """Decode a grid over the 2-D latent space, spaced by the Gaussian inverse CDF."""
    quantiles = torch.linspace(0.05, 0.95, MANIFOLD_STEPS)
    values = torch.special.ndtri(quantiles)
    grid = torch.cartesian_prod(values.flip(0), values)[:, [1, 0]]
    return tile(model.decode(grid).numpy(), MANIFOLD_STEPS)


def _save(path: Path, pixels: np.ndarray) -> Path:
    image = Image.fromarray(pixels)
    scale = max(1, 700 // max(pixels.shape[:2]))
    image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST).save(path)
    return path


def _loss_curves(history: Sequence[dict[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    epochs = [row["epoch"] for row in history]
    figure, axes = pyplot.subplots(1, 2, figsize=(9, 3.5))
    for split in ("train", "test"):
        axes[0].plot(
            epochs,
            [row[f"{split}_negative_elbo"] for row in history],
            label=f"{split} negative ELBO",
        )
        axes[1].plot(epochs, [row[f"{split}_kl"] for row in history], label=f"{split} KL")
    for axis, title in zip(axes, ("negative ELBO (nats/image)", "KL (nats/image)"), strict=True):
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
