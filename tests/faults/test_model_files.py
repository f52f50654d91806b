"""Model files broken on disk: each broken model is refused with its reason; the rest serve.

tests/server/test_repository.py covers tiny models whose graph changed after hashing, odd
folders, misnamed manifests and wrong shapes. Here a copy of the embedded repository gets
the three ways a file goes bad in operation: changed after export (hash mismatch), missing
(deleted), and corrupt but re-hashed (the hash passes; onnxruntime cannot parse it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.serve_process import EMBEDDED_MODELS
from tests.tensor_messages import tensor
from vaeserve.manifest import read_manifest, sha256_of, write_manifest
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

CHANGED, MISSING, CORRUPT, INTACT = (
    "fashion-mnist",
    "fashion-mnist-2d",
    "faces",
    "fashion-mnist-conv",
)
REASONS = {
    CHANGED: "the file was changed after export",
    MISSING: "decoder.onnx is missing",
    CORRUPT: "cannot serve it",
}


def break_models(root: Path) -> None:
    with (root / CHANGED / "1" / "decoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    (root / MISSING / "1" / "decoder.onnx").unlink()
    corrupt = root / CORRUPT / "1"
    graph = corrupt / "encoder.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2][::-1])
    manifest = read_manifest(corrupt)
    hashes = {**manifest.sha256, "encoder.onnx": sha256_of(graph)}
    write_manifest(corrupt, replace(manifest, sha256=hashes))


@pytest.fixture(scope="module")
def broken_server(server_settings, start_server, tmp_path_factory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("broken") / "models"
    shutil.copytree(EMBEDDED_MODELS, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    break_models(root)
    with start_server(server_settings(model_repository=root)) as running:
        yield running


@pytest.fixture(scope="module")
def broken_channel(broken_server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(broken_server.address) as channel:
        yield channel


@pytest.mark.parametrize("name", [CHANGED, MISSING, CORRUPT])
def test_a_broken_model_file_is_refused_with_its_reason(broken_channel, name) -> None:
    stub = vae_service_pb2_grpc.VaeServiceStub(broken_channel)
    models = {m.name: m for m in stub.ListModels(pb.ListModelsRequest()).models}
    assert models[name].state == pb.MODEL_STATE_FAILED
    assert REASONS[name] in models[name].reason


@pytest.mark.parametrize("name", [CHANGED, MISSING, CORRUPT])
def test_a_broken_model_is_not_serving_and_not_found(broken_channel, name) -> None:
    health = health_pb2_grpc.HealthStub(broken_channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=name)).status
    stub = vae_service_pb2_grpc.VaeServiceStub(broken_channel)
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetModelInfo(pb.GetModelInfoRequest(model_name=name))
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no version that passed its checks" in str(refused.value.details())


def test_the_intact_model_keeps_serving_beside_broken_ones(broken_channel) -> None:
    health = health_pb2_grpc.HealthStub(broken_channel)
    stub = vae_service_pb2_grpc.VaeServiceStub(broken_channel)
    latents = np.zeros((3, 32), np.float32)
    reply = stub.Decode(pb.DecodeRequest(model_name=INTACT, latents=tensor(latents)))
    ready = health.Check(health_pb2.HealthCheckRequest(service="vaeserve.v1.VaeService")).status
    assert list(reply.images.tensor.shape) == [3, 1, 28, 28]
    assert ready == health_pb2.HealthCheckResponse.SERVING
