"""Both architectures keep contract 1's shapes for any image size, and the bounds behave."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaeserve.training.elbo import iwae_nll, kl_to_prior
from vaeserve.training.errors import ConfigError
from vaeserve.training.models import ModelSpec, build_model


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 25, 25), (3, 32, 32), (3, 13, 10)])
def test_decoder_restores_the_encoder_input_shape(architecture: str, shape) -> None:
    spec = ModelSpec(
        architecture, shape, 3, "bernoulli", hidden=(16,), channels=(4, 8), conv_hidden=8
    )
    model = build_model(spec)
    with torch.no_grad():
        mean, log_var = model.encode(torch.rand(5, *shape))
        image = model.decode(mean)
    assert mean.shape == log_var.shape == (5, 3)
    assert image.shape == (5, *shape)
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0


def test_too_many_conv_layers_for_the_image_is_refused() -> None:
    spec = ModelSpec("conv", (1, 8, 8), 2, "bernoulli", channels=(4, 4, 4, 4))
    with pytest.raises(ConfigError, match="halve 8x8 to nothing"):
        build_model(spec)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown architecture 'rnn'"):
        build_model(ModelSpec("rnn", (1, 8, 8), 2, "bernoulli"))


def test_kl_is_zero_exactly_at_the_prior() -> None:
    zeros = torch.zeros(3, 4)
    np.testing.assert_allclose(kl_to_prior(zeros, zeros).numpy(), 0.0)
    assert float(kl_to_prior(torch.ones(1, 4), torch.zeros(1, 4))[0]) == pytest.approx(2.0)


def test_importance_weighted_bound_tightens_as_k_grows() -> None:
    torch.manual_seed(0)
    model = build_model(ModelSpec("mlp", (1, 8, 8), 2, "bernoulli", hidden=(16,)))
    x = torch.rand(64, 1, 8, 8)
    estimates = [
        float(iwae_nll(model, x, k, torch.Generator().manual_seed(1), chunk=16).mean())
        for k in (1, 10, 200)
    ]
    assert estimates[0] > estimates[1] > estimates[2]
