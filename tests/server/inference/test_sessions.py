"""Provider choice, thread counts from the cgroup, and GPU batch buckets."""

from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from tests import onnx_models
from vaeserve.server.cpus import cpu_limit
from vaeserve.server.inference.sessions import (
    CPU,
    CUDA,
    CUDA_OPTIONS,
    GraphSession,
    batch_buckets,
    bucket_for,
    choose_providers,
    inference_threads,
    intra_op_threads,
    lower_thread_priority,
    provider_options,
)


def test_buckets_are_powers_of_four_up_to_the_batch_limit() -> None:
    assert batch_buckets(256) == (1, 4, 16, 64, 256)
    assert batch_buckets(100) == (1, 4, 16, 64, 100)
    assert batch_buckets(1) == (1,)


@pytest.mark.parametrize(("n", "bucket"), [(1, 1), (2, 4), (4, 4), (17, 64), (65, 100)])
def test_a_batch_is_padded_to_the_smallest_bucket_that_holds_it(n: int, bucket: int) -> None:
    assert bucket_for(n, batch_buckets(100)) == bucket


def test_a_batch_past_the_largest_bucket_is_not_padded() -> None:
    assert bucket_for(300, (1, 4)) == 300


def test_inference_workers_default_to_one_per_cpu_of_the_limit_and_at_least_two() -> None:
    assert inference_threads() == max(2, cpu_limit())
    assert inference_threads(0) == max(2, cpu_limit())


def test_each_of_several_serving_processes_gets_its_share_of_the_cpus() -> None:
    assert inference_threads(0, processes=2) == max(1, math.ceil(cpu_limit() / 2))
    assert inference_threads(0, processes=cpu_limit() * 4) == 1


def test_onnxruntime_runs_one_thread_per_call_by_default() -> None:
    assert intra_op_threads() == 1


def test_thread_counts_asked_for_win_over_the_defaults() -> None:
    assert inference_threads(5) == 5
    assert intra_op_threads(3) == 3


def test_cpu_is_chosen_when_asked_for() -> None:
    assert choose_providers("cpu") == [CPU]


def test_a_cpu_session_reports_its_provider_and_runs(tmp_path: Path) -> None:
    folder = onnx_models.write_model(tmp_path, onnx_models.RGB_V1)
    session = GraphSession(
        folder / "decoder.onnx",
        input_name="z",
        output_names=("x",),
        providers=[CPU],
        intra_op_threads=1,
        max_batch_size=8,
    )
    (out,) = session.run(np.zeros((3, 4), np.float32))
    assert session.provider == CPU
    assert out.shape == (3, 3, 8, 8)


def test_a_graph_without_the_contract_names_is_refused(tmp_path: Path) -> None:
    folder = onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    with pytest.raises(ValueError, match="no output named images"):
        GraphSession(
            folder / "decoder.onnx",
            input_name="z",
            output_names=("images",),
            providers=[CPU],
            intra_op_threads=1,
            max_batch_size=8,
        )


def test_a_padded_batch_gives_the_same_outputs_as_a_plain_one(tmp_path: Path) -> None:
    folder = onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    options: dict[str, Any] = {
        "input_name": "x",
        "output_names": ("mean", "log_var"),
        "providers": [CPU],
    }
    plain = GraphSession(folder / "encoder.onnx", intra_op_threads=1, max_batch_size=16, **options)
    padded = GraphSession(
        folder / "encoder.onnx",
        intra_op_threads=1,
        max_batch_size=16,
        pad_to_buckets=True,
        **options,
    )
    batch = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    assert padded.buckets == (1, 4, 16)
    for got, expected in zip(padded.run(batch), plain.run(batch), strict=True):
        assert got.shape == (3, 2)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_only_the_cuda_provider_gets_the_cuda_options() -> None:
    assert provider_options([CPU]) == [CPU]
    cuda, cpu = provider_options([CUDA, CPU])
    assert cpu == CPU
    assert cuda == (CUDA, CUDA_OPTIONS)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("cudnn_conv_algo_search", "HEURISTIC"),
        ("arena_extend_strategy", "kSameAsRequested"),
        ("enable_cuda_graph", "0"),
        ("use_tf32", "0"),
    ],
)
def test_the_cuda_options_defuse_the_known_traps(option: str, value: str) -> None:
    assert CUDA_OPTIONS[option] == value


def test_warm_up_runs_every_bucket_and_records_it(tmp_path: Path) -> None:
    folder = onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    session = GraphSession(
        folder / "decoder.onnx",
        input_name="z",
        output_names=("x",),
        providers=[CPU],
        intra_op_threads=1,
        max_batch_size=64,
        pad_to_buckets=True,
    )
    (one,) = session.warm_up((2,))
    assert session.warmed_sizes == (1, 4, 16, 64)
    assert one.shape == (1, 1, 8, 8)


def test_a_session_reports_the_options_its_provider_really_runs_with(tmp_path: Path) -> None:
    folder = onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    session = GraphSession(
        folder / "decoder.onnx",
        input_name="z",
        output_names=("x",),
        providers=[CPU],
        intra_op_threads=1,
        max_batch_size=8,
    )
    assert session.provider_options == ort.InferenceSession(
        str(folder / "decoder.onnx"), providers=[CPU]
    ).get_provider_options().get(CPU, {})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_lowering_the_priority_nices_the_calling_thread_only() -> None:
    found: list[int] = []

    def worker() -> None:
        lower_thread_priority(3)
        found.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert found == [min(19, before + 3)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
