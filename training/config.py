"""One frozen object holding every training knob, built once by the command line or a caller."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vaeserve.training.datasets import DataOptions
from vaeserve.training.errors import ConfigError
from vaeserve.training.models import ARCHITECTURES

SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How to train one VAE; the defaults are those of the ``fashion-mnist`` default model.

    ``epochs`` is the length of the whole run (the cosine schedule spans it); ``stop_after``
    ends this session early at that epoch, to be continued later with ``resume``.
    """

    output_dir: Path
    data: DataOptions = field(default_factory=lambda: DataOptions("fashion-mnist"))
    architecture: str = "mlp"
    latent_dim: int = 32
    hidden: tuple[int, ...] = (512, 512)
    channels: tuple[int, ...] = (32, 64)
    conv_hidden: int = 256
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    beta: float = 1.0
    warmup_epochs: float = 0.0
    binarize: bool = False
    seed: int = 0
    resume: Path | None = None
    stop_after: int | None = None
    progress: bool = True
    figures: bool = True
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        problems = []
        if self.architecture not in ARCHITECTURES:
            problems.append(
                f"architecture must be one of {ARCHITECTURES}, not {self.architecture!r}"
            )
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        for name in ("latent_dim", "epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.stop_after is not None and not 1 <= self.stop_after <= self.epochs:
            problems.append(f"stop_after must be between 1 and epochs ({self.epochs})")
        if self.learning_rate <= 0 or self.beta < 0 or self.warmup_epochs < 0:
            problems.append("learning rate must be positive, beta and warm-up not negative")
        if not self.hidden or not self.channels or min(self.hidden + self.channels) < 1:
            problems.append("hidden and channels need at least one positive width")
        if problems:
            raise ConfigError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (paths as strings) that a weights-only checkpoint can hold."""
        data = asdict(self)
        data["output_dir"] = str(self.output_dir)
        data["resume"] = None if self.resume is None else str(self.resume)
        data["data"]["data_dir"] = None if self.data.data_dir is None else str(self.data.data_dir)
        return data
