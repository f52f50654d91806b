"""In-process onnxruntime throughput: the compute half of the benchmark's limit.

The same graphs the server runs, called directly from Python at batch sizes 1..256 with
nothing else on the machine busy, give the most items/s the math allows. The naive baseline
server builds its sessions here too, so both use the same session options.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import onnxruntime as ort

from vaeserve.bench.models import BenchModel

GRAPHS = ("decoder", "encoder")
# Every method's compute: Decode and Sample run the decoder, Encode the encoder.
GRAPH_OF_METHOD = {"Decode": "decoder", "Sample": "decoder", "Encode": "encoder"}
MIN_CALLS = 3


@dataclass(frozen=True)
class OrtPoint:
    """One batch size of one graph, timed in process."""

    model: str
    graph: str
    batch: int
    items_per_s: float
    ms_per_call: float


def make_session(path: str, threads: int, *, spinning: bool = True) -> ort.InferenceSession:
    """A CPU (or CUDA, where present) session; ``threads`` 0 lets onnxruntime choose.

    ``spinning`` False stops idle intra-op threads from busy-waiting for the next call, as
    vaeserve's sessions do; on a machine whose cores are shared that is often faster.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [
        p
        for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
        if p in ort.get_available_providers()
    ]
    return ort.InferenceSession(path, sess_options=options, providers=providers)


def _time_calls(call: Callable[[], object], seconds: float) -> tuple[int, float]:
    """Call until ``seconds`` have passed (at least MIN_CALLS times); (calls, elapsed)."""
    call()  # first call of a shape allocates; not timed
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while calls < MIN_CALLS or elapsed < seconds:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls, elapsed


def _time_parallel(call: Callable[[], object], seconds: float, callers: int) -> tuple[int, float]:
    """``callers`` threads calling at once (onnxruntime releases the GIL); (calls, elapsed)."""
    with ThreadPoolExecutor(callers) as pool:
        timings = list(pool.map(lambda _: _time_calls(call, seconds), range(callers)))
    return sum(calls for calls, _ in timings), max(elapsed for _, elapsed in timings)


def _feed(model: BenchModel, graph: str, batch: int, rng: np.random.Generator) -> dict[str, Any]:
    shape = model.shape
    if graph == "decoder":
        return {"z": rng.standard_normal((batch, shape.latent_dim), dtype=np.float32)}
    dims = (batch, shape.channels, shape.height, shape.width)
    return {"x": rng.random(dims, dtype=np.float32)}


def measure_graph(
    model: BenchModel, graph: str, batch_sizes: Sequence[int], seconds: float, threads: int
) -> list[OrtPoint]:
    """Items/s of one graph at each batch size, inputs shaped as the server feeds them.

    The limit is the best the math allows however it is called, so each batch size is
    timed three ways and the fastest counts: one caller with intra-op spinning on
    (onnxruntime's default), one with it off (as vaeserve runs), and one single-threaded
    session per core called at once (small convolutions do not spread over cores, parallel
    calls do). ``ms_per_call`` is the latency of one call alone.
    """
    path = str(model.decoder_path if graph == "decoder" else model.encoder_path)
    single = [make_session(path, threads, spinning=spin) for spin in (True, False)]
    shared = make_session(path, 1, spinning=False)
    callers = os.cpu_count() or 1
    rng = np.random.default_rng(0)
    points = []
    for batch in batch_sizes:
        feed = _feed(model, graph, batch, rng)
        alone = [_time_calls(partial(s.run, None, feed), seconds) for s in single]
        together = _time_parallel(partial(shared.run, None, feed), seconds, callers)
        best = max([*alone, together], key=lambda timing: timing[0] / timing[1])
        fastest_call_s = min(elapsed / calls for calls, elapsed in alone)
        items_per_s = best[0] * batch / best[1]
        points.append(OrtPoint(model.shape.name, graph, batch, items_per_s, fastest_call_s * 1e3))
    return points


def measure_models(
    models: Sequence[BenchModel], batch_sizes: Sequence[int], seconds: float, threads: int
) -> list[OrtPoint]:
    return [
        point
        for model in models
        for graph in GRAPHS
        for point in measure_graph(model, graph, batch_sizes, seconds, threads)
    ]
