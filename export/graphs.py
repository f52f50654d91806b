"""Trace a VAE's encoder and decoder into two self-contained ONNX files (contract 1).

Each graph is exported from a tiny wrapper module, so only the deterministic path lands in
it: the encoder gives ``mean`` and ``log_var``, the decoder the mean image with the sigmoid
inside. The batch axis is dynamic; weights are stored inside the file
(``external_data=False``), never in a ``.onnx.data`` side file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import onnx
import torch
from torch import nn

from vaeserve.export.errors import ExportError
from vaeserve.training.models import VAE

OPSET = 21  # onnxruntime >= 1.20, the serving floor in pyproject.toml, runs opset 21
NOISY_LOGGERS = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")
RANDOM_OPS = frozenset(
    {
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)


class EncoderGraph(nn.Module):
    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x)


class DecoderGraph(nn.Module):
    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z)


def export_encoder(model: VAE, path: Path) -> None:
    example = torch.zeros((2, *model.spec.image_shape))
    _export(EncoderGraph(model), example, "x", ["mean", "log_var"], path)


def export_decoder(model: VAE, path: Path) -> None:
    example = torch.zeros((2, model.spec.latent_dim))
    _export(DecoderGraph(model), example, "z", ["x"], path)


def check_graph(path: Path) -> onnx.ModelProto:
    """Run onnx.checker on the file and refuse graphs that could sample noise."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"{path} fails onnx.checker: {error}") from error
    graph = onnx.load(str(path))
    random_ops = sorted({node.op_type for node in graph.graph.node} & RANDOM_OPS)
    if random_ops:
        raise ExportError(
            f"{path} contains random nodes {random_ops}; sampling belongs to the server"
        )
    return graph


def _export(
    module: nn.Module, example: torch.Tensor, input_name: str, outputs: list[str], path: Path
) -> None:
    module.eval()
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with _quiet():
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=outputs,
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            dynamic_shapes={input_name: {0: batch}},
            optimize=True,
        )
    side_file = path.with_name(path.name + ".data")
    if side_file.exists():
        raise ExportError(f"the exporter wrote {side_file}; graphs must be self-contained")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter narrates every step on stdout and through warnings; keep the CLI readable."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)
