"""The CUDA path, on a real GPU: provider, I/O binding, warmed buckets, equal outputs, traps.

Every test here is marked ``gpu`` and skipped unless this onnxruntime has a CUDA provider
and the machine has an NVIDIA device (``make gpu-check`` installs onnxruntime-gpu and runs
them). The CPU-side halves of these behaviours (provider options, bucket padding, warm-up
of every bucket) are tested in tests/server/inference/test_sessions.py on every machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import onnxruntime as ort
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from vaeserve.manifest import DECODER_FILE, ENCODER_FILE, read_manifest
from vaeserve.server.inference.sessions import CPU, CUDA, GraphSession
from vaeserve.server.settings import embedded_repository


def _gpu_present() -> bool:
    return Path("/dev/nvidia0").exists() or bool(shutil.which("nvidia-smi"))


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        CUDA not in ort.get_available_providers() or not _gpu_present(),
        reason="needs an NVIDIA GPU and onnxruntime-gpu (make gpu-check)",
    ),
]

MODELS = ("fashion-mnist", "fashion-mnist-conv")
MAX_BATCH = 256
TOLERANCE = 1e-4
# GPU memory the process may gain over repeated largest batches after the first one.
MAX_ARENA_GROWTH_MIB = 64


def _version_dir(model: str) -> Path:
    folder = embedded_repository() / model
    return max((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def _session(model: str, graph: str, providers: list[str]) -> GraphSession:
    folder = _version_dir(model)
    if graph == "decoder":
        return GraphSession(
            folder / DECODER_FILE,
            input_name="z",
            output_names=("x",),
            providers=providers,
            intra_op_threads=1,
            max_batch_size=MAX_BATCH,
        )
    return GraphSession(
        folder / ENCODER_FILE,
        input_name="x",
        output_names=("mean", "log_var"),
        providers=providers,
        intra_op_threads=1,
        max_batch_size=MAX_BATCH,
    )


def _inputs(model: str, graph: str, n: int) -> np.ndarray:
    manifest = read_manifest(_version_dir(model))
    rng = np.random.default_rng(n)
    if graph == "decoder":
        return rng.standard_normal((n, manifest.latent_dim), dtype=np.float32)
    return rng.random((n, *manifest.image_shape.as_tuple()), dtype=np.float32)


@pytest.fixture(scope="module")
def cuda_server(server_settings: Any, start_server: Any) -> Iterator[Any]:
    """A real server on the embedded models, forced onto CUDA."""
    settings = server_settings(model_repository=embedded_repository(), execution_provider="cuda")
    with start_server(settings) as running:
        yield running


def _served_sessions(running: Any) -> list[GraphSession]:
    sessions = []
    for versions in running.server.handlers.table.versions.values():
        for state in versions.values():
            assert state.model is not None, state.reason
            sessions += [state.model.encoder_session, state.model.decoder_session]
    return sessions


def test_every_served_session_runs_on_the_cuda_provider(cuda_server: Any):
    for session in _served_sessions(cuda_server):
        assert session.provider == CUDA
        assert session._session.get_providers()[0] == CUDA


def test_every_bucket_ran_before_the_server_was_serving(cuda_server: Any):
    with grpc.insecure_channel(cuda_server.address) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    for session in _served_sessions(cuda_server):
        assert session.buckets, "CUDA sessions pad to buckets"
        assert session.warmed_sizes[: len(session.buckets)] == session.buckets


def test_a_cuda_batch_runs_through_io_binding(monkeypatch: pytest.MonkeyPatch):
    session = _session("fashion-mnist-conv", "decoder", [CUDA, CPU])

    def plain_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a CUDA batch went through InferenceSession.run")

    monkeypatch.setattr(session._session, "run", plain_run)
    (images,) = session.run(_inputs("fashion-mnist-conv", "decoder", 5))
    assert images.shape[0] == 5


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("graph", ["encoder", "decoder"])
@pytest.mark.parametrize("n", [1, 3, 64, MAX_BATCH])
def test_cuda_outputs_equal_the_cpu_outputs(model: str, graph: str, n: int):
    batch = _inputs(model, graph, n)
    on_gpu = _session(model, graph, [CUDA, CPU]).run(batch)
    on_cpu = _session(model, graph, [CPU]).run(batch)
    for got, expected in zip(on_gpu, on_cpu, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("graph", ["encoder", "decoder"])
def test_a_batch_past_the_largest_bucket_runs_unpadded_and_equal(graph: str):
    n = MAX_BATCH + 44
    batch = _inputs("fashion-mnist-conv", graph, n)
    on_gpu = _session("fashion-mnist-conv", graph, [CUDA, CPU]).run(batch)
    on_cpu = _session("fashion-mnist-conv", graph, [CPU]).run(batch)
    for got, expected in zip(on_gpu, on_cpu, strict=True):
        assert got.shape[0] == n
        np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("cudnn_conv_algo_search", "HEURISTIC"),
        ("arena_extend_strategy", "kSameAsRequested"),
        ("enable_cuda_graph", "0"),
        ("use_tf32", "0"),
    ],
)
def test_the_cuda_session_uses_the_option_that_defuses_a_trap(option: str, value: str):
    session = _session("fashion-mnist-conv", "decoder", [CUDA, CPU])
    assert session.provider_options.get(option) == value


def _gpu_memory_used_mib() -> float:
    """Device memory in use on GPU 0, as nvidia-smi reports it (the tests run alone on it)."""
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return float(out.stdout.strip().splitlines()[0])


@pytest.mark.skipif(not shutil.which("nvidia-smi"), reason="reads memory through nvidia-smi")
def test_gpu_memory_stays_bounded_after_the_largest_batch():
    session = _session("fashion-mnist-conv", "decoder", [CUDA, CPU])
    largest = _inputs("fashion-mnist-conv", "decoder", 1024)
    session.run(largest)
    after_first = _gpu_memory_used_mib()
    for _ in range(10):
        session.run(largest)
        session.run(largest[:MAX_BATCH])
    grown = _gpu_memory_used_mib() - after_first
    assert grown <= MAX_ARENA_GROWTH_MIB, f"pid {os.getpid()} grew {grown} MiB"
