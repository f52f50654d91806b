"""The two VAE architectures: a fully connected one and a convolutional one.

Both expose the same three methods, named as in Kingma & Welling: ``encode`` (image ->
mean and log-variance of q(z|x)), ``decode_logits`` (z -> pre-sigmoid pixel means) and
``decode`` (the mean image in [0, 1]). Export traces ``encode`` and ``decode`` and nothing
else, so the graphs hold no sampling. Gaussian models also learn one log standard deviation
for the pixels, ``log_scale``; Bernoulli models keep it at zero and never use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import torch
from torch import nn

from vaeserve.training.errors import ConfigError

ARCHITECTURES = ("mlp", "conv")


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a model before loading its weights."""

    architecture: str
    image_shape: tuple[int, int, int]
    latent_dim: int
    likelihood: str
    hidden: tuple[int, ...] = (512, 512)
    channels: tuple[int, ...] = (32, 64)
    conv_hidden: int = 256

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        channels, height, width = (int(v) for v in data["image_shape"])
        return cls(
            architecture=str(data["architecture"]),
            image_shape=(channels, height, width),
            latent_dim=int(data["latent_dim"]),
            likelihood=str(data["likelihood"]),
            hidden=tuple(int(v) for v in data["hidden"]),
            channels=tuple(int(v) for v in data["channels"]),
            conv_hidden=int(data["conv_hidden"]),
        )


class VAE(nn.Module, ABC):
    """Shared parts: the Gaussian pixel scale and the mean image."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.log_scale = nn.Parameter(torch.zeros(()), requires_grad=spec.likelihood == "gaussian")

    @abstractmethod
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mean and log-variance of q(z|x)."""

    @abstractmethod
    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Return the pre-sigmoid pixel means of p(x|z)."""

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))


class MlpVAE(VAE):
    """Fully connected encoder and decoder with ReLU hidden layers."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        pixels = spec.image_shape[0] * spec.image_shape[1] * spec.image_shape[2]
        self.encoder = _mlp([pixels, *spec.hidden])
        self.mean_head = nn.Linear(spec.hidden[-1], spec.latent_dim)
        self.log_var_head = nn.Linear(spec.hidden[-1], spec.latent_dim)
        self.decoder = nn.Sequential(
            _mlp([spec.latent_dim, *reversed(spec.hidden)]),
            nn.Linear(spec.hidden[0], pixels),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x.flatten(1))
        return self.mean_head(hidden), self.log_var_head(hidden)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        flat: torch.Tensor = self.decoder(z)
        return flat.reshape(-1, *self.spec.image_shape)


class ConvVAE(VAE):
    """Strided 4x4 convolutions down, transposed convolutions back up to the exact size."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        channels, height, width = spec.image_shape
        sizes = [(height, width)]
        for _ in spec.channels:
            sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
        if min(sizes[-1]) < 1:
            raise ConfigError(f"{len(spec.channels)} conv layers halve {height}x{width} to nothing")
        self.feature_shape = (spec.channels[-1], *sizes[-1])
        features = spec.channels[-1] * sizes[-1][0] * sizes[-1][1]
        widths = [channels, *spec.channels]
        down: list[nn.Module] = []
        for c_in, c_out in pairwise(widths):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(
            *down, nn.Flatten(), nn.Linear(features, spec.conv_hidden), nn.ReLU()
        )
        self.mean_head = nn.Linear(spec.conv_hidden, spec.latent_dim)
        self.log_var_head = nn.Linear(spec.conv_hidden, spec.latent_dim)
        self.project = _mlp([spec.latent_dim, spec.conv_hidden, features])
        self.upsample = nn.Sequential(*_up_layers(list(reversed(widths)), list(reversed(sizes))))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x)
        return self.mean_head(hidden), self.log_var_head(hidden)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.project(z)
        logits: torch.Tensor = self.upsample(features.reshape(-1, *self.feature_shape))
        return logits


def build_model(spec: ModelSpec) -> VAE:
    if spec.architecture == "mlp":
        return MlpVAE(spec)
    if spec.architecture == "conv":
        return ConvVAE(spec)
    raise ConfigError(f"unknown architecture {spec.architecture!r}; choose one of {ARCHITECTURES}")


def _mlp(widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w_in, w_out in pairwise(widths):
        layers += [nn.Linear(w_in, w_out), nn.ReLU()]
    return nn.Sequential(*layers)


def _up_layers(widths: list[int], sizes: list[tuple[int, int]]) -> list[nn.Module]:
    """Transposed convolutions that double each size, padding by one where the input was odd."""
    layers: list[nn.Module] = []
    for step, (c_in, c_out) in enumerate(pairwise(widths)):
        (h_in, w_in), (h_out, w_out) = sizes[step], sizes[step + 1]
        pad = (h_out - 2 * h_in, w_out - 2 * w_in)
        layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, output_padding=pad))
        if step < len(widths) - 2:
            layers.append(nn.ReLU())
    return layers
