"""Tiny real VAE graphs built with the onnx helper API, in the model repository's format.

Shared by every test folder, imported as ``from tests import onnx_models``. The
graphs follow contract 1 exactly: encoder ``x`` [N,C,H,W] -> ``mean``, ``log_var`` [N,D]
(Flatten -> Gemm -> Relu -> two Gemm heads); decoder ``z`` [N,D] -> ``x`` [N,C,H,W] in
[0, 1] (Gemm -> Relu -> Gemm -> Sigmoid -> Reshape); a dynamic batch axis; random weights
from a fixed seed; a manifest with the real SHA-256 of each file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vaeserve.manifest import (
    DECODER_FILE,
    ENCODER_FILE,
    ImageShape,
    Manifest,
    Producer,
    TrainingSummary,
    sha256_of,
    write_manifest,
)

OPSET = 17
HIDDEN = 16


@dataclass(frozen=True)
class TinySpec:
    """What to build: the model's name, version, image shape and latent size."""

    name: str
    version: int
    image_shape: tuple[int, int, int]
    latent_dim: int
    seed: int = 0
    batch_one_only: bool = False
    """Reshape the decoder's output to a batch of exactly 1: a model that loads and warms
    up but fails at run time on bigger batches, to exercise the server's failure paths."""


GREY_V1 = TinySpec("tiny-grey", 1, (1, 8, 8), 2, seed=1)
GREY_V2 = TinySpec("tiny-grey", 2, (1, 8, 8), 2, seed=2)
RGB_V1 = TinySpec("tiny-rgb", 1, (3, 8, 8), 4, seed=3)
DEFAULT_SPECS = (GREY_V1, GREY_V2, RGB_V1)


def _weights(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
    scale = 1.0 / math.sqrt(shape[0])
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def encoder_graph(spec: TinySpec) -> onnx.ModelProto:
    rng = np.random.default_rng(spec.seed)
    pixels, d = math.prod(spec.image_shape), spec.latent_dim
    init = [
        _weights(rng, "w1", (pixels, HIDDEN)), _weights(rng, "b1", (HIDDEN,)),
        _weights(rng, "wm", (HIDDEN, d)), _weights(rng, "bm", (d,)),
        _weights(rng, "wv", (HIDDEN, d)), _weights(rng, "bv", (d,)),
    ]  # fmt: skip
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h0"]),
        helper.make_node("Relu", ["h0"], ["h"]),
        helper.make_node("Gemm", ["h", "wm", "bm"], ["mean"]),
        helper.make_node("Gemm", ["h", "wv", "bv"], ["log_var"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *spec.image_shape])]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", d])
        for name in ("mean", "log_var")
    ]
    graph = helper.make_graph(nodes, "encoder", inputs, outputs, init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def decoder_graph(spec: TinySpec) -> onnx.ModelProto:
    rng = np.random.default_rng(spec.seed + 1000)
    pixels, d = math.prod(spec.image_shape), spec.latent_dim
    batch = 1 if spec.batch_one_only else -1
    shape = numpy_helper.from_array(np.array([batch, *spec.image_shape], dtype=np.int64), "shape")
    init = [
        _weights(rng, "w1", (d, HIDDEN)), _weights(rng, "b1", (HIDDEN,)),
        _weights(rng, "w2", (HIDDEN, pixels)), _weights(rng, "b2", (pixels,)), shape,
    ]  # fmt: skip
    nodes = [
        helper.make_node("Gemm", ["z", "w1", "b1"], ["h0"]),
        helper.make_node("Relu", ["h0"], ["h"]),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["flat"]),
        helper.make_node("Reshape", ["flat", "shape"], ["x"]),
    ]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", d])]
    outputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *spec.image_shape])]
    graph = helper.make_graph(nodes, "decoder", inputs, outputs, init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def write_model(repository: Path, spec: TinySpec) -> Path:
    """Write one version folder <repository>/<name>/<version>/ and return it."""
    version_dir = repository / spec.name / str(spec.version)
    version_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(encoder_graph(spec), version_dir / ENCODER_FILE)
    onnx.save(decoder_graph(spec), version_dir / DECODER_FILE)
    channels, height, width = spec.image_shape
    manifest = Manifest(
        name=spec.name,
        version=spec.version,
        latent_dim=spec.latent_dim,
        image_shape=ImageShape(channels, height, width),
        likelihood="bernoulli",
        dataset="synthetic",
        architecture="mlp",
        training=TrainingSummary(epochs=0, test_negative_elbo_nats=0.0),
        producer=Producer(vaeserve="test", torch="none", onnx_opset=OPSET),
        sha256={f: sha256_of(version_dir / f) for f in (ENCODER_FILE, DECODER_FILE)},
        class_names=("a", "b"),
    )
    write_manifest(version_dir, manifest)
    return version_dir


def write_repository(repository: Path, specs: tuple[TinySpec, ...] = DEFAULT_SPECS) -> Path:
    for spec in specs:
        write_model(repository, spec)
    return repository
