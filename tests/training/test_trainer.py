"""The training loop learns, is reproducible, resumes exactly, and draws its figures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaeserve.training.checkpoint import load_checkpoint
from vaeserve.training.datasets import DataOptions
from vaeserve.training.errors import CheckpointError, ConfigError
from vaeserve.training.trainer import train


def weights(model: torch.nn.Module) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.state_dict().values()]


def test_loss_falls_over_a_short_run(small_config) -> None:
    history = train(small_config(epochs=4)).history
    assert history[-1]["train_negative_elbo"] < history[0]["train_negative_elbo"] - 1.0
    assert history[-1]["test_negative_elbo"] < history[0]["test_negative_elbo"]


def test_history_keeps_reconstruction_and_kl_apart(small_config) -> None:
    row = train(small_config(epochs=1)).history[0]
    assert row["test_kl"] > 0
    assert row["test_negative_elbo"] == pytest.approx(row["test_reconstruction"] + row["test_kl"])


def test_training_is_reproducible_for_a_seed(small_config, tmp_path: Path) -> None:
    first = train(small_config(output_dir=tmp_path / "a"))
    second = train(small_config(output_dir=tmp_path / "b"))
    for left, right in zip(weights(first.model), weights(second.model), strict=True):
        np.testing.assert_array_equal(left, right)


def test_another_seed_gives_other_weights(small_config, tmp_path: Path) -> None:
    first = train(small_config(output_dir=tmp_path / "a"))
    second = train(small_config(output_dir=tmp_path / "b", seed=1))
    assert not np.array_equal(weights(first.model)[1], weights(second.model)[1])


def test_resume_continues_exactly_where_the_run_stopped(small_config, tmp_path: Path) -> None:
    straight = train(small_config(output_dir=tmp_path / "straight", epochs=3))
    train(small_config(output_dir=tmp_path / "halted", epochs=3, stop_after=1))
    resumed = train(
        small_config(output_dir=tmp_path / "halted", epochs=3, resume=tmp_path / "halted")
    )
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    for left, right in zip(weights(straight.model), weights(resumed.model), strict=True):
        np.testing.assert_array_equal(left, right)


def test_resume_with_another_epoch_count_is_refused(small_config, tmp_path: Path) -> None:
    result = train(small_config(epochs=1))
    with pytest.raises(CheckpointError, match="cosine schedule spans 1 epochs"):
        train(small_config(output_dir=tmp_path / "more", epochs=4, resume=result.checkpoint))


def test_resume_into_another_architecture_is_refused(small_config, tmp_path: Path) -> None:
    result = train(small_config(epochs=1))
    with pytest.raises(CheckpointError, match="not the requested"):
        train(small_config(output_dir=tmp_path / "other", hidden=(16,), resume=result.checkpoint))


def test_checkpoint_records_epoch_and_dataset(small_config) -> None:
    checkpoint = load_checkpoint(train(small_config()).checkpoint)
    assert (checkpoint.epoch, checkpoint.dataset) == (2, "digits")
    assert checkpoint.class_names[9] == "9"


def test_figures_are_written_for_a_two_dimensional_latent(small_config, tmp_path: Path) -> None:
    train(small_config(epochs=1, figures=True))
    names = {"samples", "reconstructions", "interpolation", "manifold", "loss_curves"}
    for name in names:
        with Image.open(tmp_path / "run" / f"{name}.png") as image:
            assert max(image.size) >= 64


def test_no_manifold_without_a_two_dimensional_latent(small_config, tmp_path: Path) -> None:
    train(small_config(epochs=1, latent_dim=3, figures=True))
    assert (tmp_path / "run" / "samples.png").is_file()
    assert not (tmp_path / "run" / "manifold.png").exists()


def test_conv_model_trains_on_colour_images_with_a_gaussian_likelihood(
    small_config, image_dir
) -> None:
    config = small_config(
        data=DataOptions("faces", data_dir=image_dir, image_size=12),
        architecture="conv",
        channels=(4, 8),
        conv_hidden=16,
        batch_size=4,
    )
    result = train(config)
    assert result.model.spec.likelihood == "gaussian"
    assert result.model.decode(torch.zeros(2, 2)).shape == (2, 3, 12, 12)
    assert float(result.model.log_scale.detach()) != 0.0


def test_binarized_training_scores_binary_test_images(small_config) -> None:
    result = train(small_config(binarize=True, epochs=1))
    assert result.model.spec.likelihood == "bernoulli"
    assert np.isfinite(result.history[0]["test_negative_elbo"])


def test_kl_warmup_lowers_the_early_kl_weight(small_config, tmp_path: Path) -> None:
    plain = train(small_config(output_dir=tmp_path / "plain", epochs=1, latent_dim=4))
    warm = train(
        small_config(output_dir=tmp_path / "warm", epochs=1, latent_dim=4, warmup_epochs=5)
    )
    assert warm.history[0]["train_kl"] > plain.history[0]["train_kl"]


def test_inconsistent_options_are_refused(small_config) -> None:
    with pytest.raises(ConfigError, match="latent_dim must be at least 1"):
        small_config(latent_dim=0)
    with pytest.raises(ConfigError, match="architecture must be one of"):
        replace(small_config(), architecture="transformer")
