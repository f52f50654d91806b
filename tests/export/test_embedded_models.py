"""``python -m vaeserve.export.embedded_models`` leaves finished models alone, says why it stops."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vaeserve.export import export_untrained
from vaeserve.export.embedded_models import main
from vaeserve.training.config import TrainConfig
from vaeserve.training.datasets import DataOptions
from vaeserve.training.trainer import train


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    """main() pins torch to one thread for reproducibility; give the other tests theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_a_model_already_in_the_repository_is_not_retrained(tmp_path: Path) -> None:
    export_untrained(tmp_path / "models", "faces")
    runs = tmp_path / "runs"
    argv = ["--repository", str(tmp_path / "models"), "--runs-dir", str(runs), "--only", "faces"]
    assert main(argv) == 0
    assert not runs.exists()


def test_a_checkpoint_from_another_recipe_is_refused(tmp_path: Path, capsys) -> None:
    digits = DataOptions("digits")
    run = tmp_path / "runs" / "faces"
    config = TrainConfig(run, digits, latent_dim=2, hidden=(32,), epochs=1, batch_size=64)
    train(replace(config, progress=False, figures=False))
    argv = ["--repository", str(tmp_path / "models"), "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--only", "faces"]) == 2
    err = capsys.readouterr().err
    assert "error: faces: " in err
    assert "was trained with other settings; move it away first" in err
