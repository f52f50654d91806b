"""Checkpoints: everything needed to resume training or to export, in one torch file.

A checkpoint is a plain dict of tensors, numbers and strings, so it loads with
``weights_only=True`` and never runs code from the file.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vaeserve.training.datasets import DataOptions
from vaeserve.training.errors import CheckpointError
from vaeserve.training.models import VAE, ModelSpec, build_model

FORMAT = "vaeserve-checkpoint-1"
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model, where training stood, and how it went so far."""

    model: VAE
    epoch: int
    history: list[dict[str, float]]
    config: dict[str, Any]
    dataset: str
    class_names: tuple[str, ...]
    optimizer_state: dict[str, Any]
    scheduler_state: dict[str, Any]


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically, so a run killed mid-save leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save({"format": FORMAT, **state}, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path) -> Checkpoint:
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; train a model first (vaeserve train)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != FORMAT:
            raise ValueError(f"format is {state.get('format')!r}, expected {FORMAT!r}")
        model = build_model(ModelSpec.from_dict(state["spec"]))
        model.load_state_dict(state["model"])
    except (
        OSError,
        RuntimeError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        pickle.UnpicklingError,
    ) as error:
        raise CheckpointError(f"{path} is not a vaeserve checkpoint: {error}") from error
    model.eval()
    return Checkpoint(
        model=model,
        epoch=int(state["epoch"]),
        history=list(state["history"]),
        config=dict(state["config"]),
        dataset=str(state["dataset"]),
        class_names=tuple(state["class_names"]),
        optimizer_state=state["optimizer"],
        scheduler_state=state["scheduler"],
    )


def data_options(config: dict[str, Any]) -> DataOptions:
    """The dataset a checkpoint was trained on, from the config it stores."""
    data = config["data"]
    return DataOptions(
        name=str(data["name"]),
        data_dir=None if data["data_dir"] is None else Path(data["data_dir"]),
        classes=tuple(data["classes"]),
        image_size=int(data["image_size"]),
        channels=int(data["channels"]),
    )
