"""onnxruntime sessions: which provider, how many threads, and one call per batch.

Providers: ``auto`` takes CUDA when onnxruntime-gpu sees a GPU, else CPU. The provider a
session really uses (onnxruntime falls back silently) is read back and reported.

Threads: parallelism comes from concurrent batches, not from inside one call. By default
the inference pool has one worker per CPU of the container's limit (cgroup ``cpu.max``, not
the host's core count, so a pod limited to 2 CPUs does not start 64 threads), at least 2,
and each onnxruntime call runs on one intra-op thread. On a small machine an intra-op pool
fights the gRPC threads for the same cores; two single-threaded batches do not, and the
batcher cuts a big lone batch in parts so it still uses every core. The CPU memory arena
stays on: turned off, it saved about 4 MB at idle over the embedded models but cost 10-25 MB
more at peak under concurrent batches (malloc's per-thread heaps keep what the arena would
have reused; reports/performance-notes.md has the numbers).

On CUDA, batches are padded up to a few bucket sizes (each warmed up before SERVING, so no
first-shape cost lands on a live request) and run through I/O binding. The CUDA provider's
options (:data:`CUDA_OPTIONS`) defuse its known traps: cuDNN's exhaustive algorithm search
for every new input shape (seconds on the first batch of a size) is replaced by its
heuristic, the memory arena grows by what is asked rather than to the next power of two,
and CUDA graphs stay off (they need one fixed shape and fixed addresses per graph).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from vaeserve.server.cpus import cpu_limit
from vaeserve.server.errors import ProviderUnavailableError

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
# Options of the CUDA provider (see the module docstring); onnxruntime takes strings.
CUDA_OPTIONS: dict[str, str] = {
    # EXHAUSTIVE, the default, times every convolution algorithm for each new shape; a
    # batch past the largest bucket would pay that on a live request.
    "cudnn_conv_algo_search": "HEURISTIC",
    # The default, kNextPowerOfTwo, doubles the arena past the largest batch ever seen.
    "arena_extend_strategy": "kSameAsRequested",
    # One CUDA graph captures one shape at fixed addresses: not with padded buckets.
    "enable_cuda_graph": "0",
    # TF32 convolutions and matrix products drift about 1e-3 from the CPU's float32; these
    # graphs are small enough that exact float32 costs little.
    "use_tf32": "0",
}


def provider_options(providers: Sequence[str]) -> list[str | tuple[str, dict[str, str]]]:
    """``providers`` as onnxruntime takes them, the CUDA provider with :data:`CUDA_OPTIONS`."""
    return [(name, dict(CUDA_OPTIONS)) if name == CUDA else name for name in providers]


def inference_threads(requested: int = 0, processes: int = 1) -> int:
    """Inference pool workers of one serving process: ``requested``, or its share of the CPU
    limit. Alone, one per CPU and at least 2, so a second batch can start while the first
    finishes; one of ``processes`` serving processes gets ``ceil(CPUs / processes)`` and at
    least 1: the processes overlap each other, and more threads than cores only thrash."""
    if requested:
        return requested
    if processes <= 1:
        return max(2, cpu_limit())
    return max(1, math.ceil(cpu_limit() / processes))


def lower_thread_priority(niceness: int) -> None:
    """Add ``niceness`` to the calling thread's nice value (the inference workers' initializer).

    The event loop answers every caller, including the cheap calls that run inline on it; a
    worker running a long batch at the same priority takes its turn on a contended CPU, and
    a one-item call then waits for the kernel's next time slice behind each. Niced workers
    give the loop the CPU the moment it wakes, and still take every cycle it leaves
    (reports/fairness.md has the measurements). On Linux a thread's nice value is its own
    and onnxruntime threads started from it inherit it; elsewhere ``setpriority`` would
    renice the whole process, so this does nothing there.
    """
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))
    except OSError as error:  # a sandbox may refuse it; the server runs on regardless
        log.warning("cannot lower the inference threads' priority: %s", error)


def intra_op_threads(requested: int = 0) -> int:
    """onnxruntime threads inside one call: ``requested``, or 1 (see the module docstring)."""
    return requested or 1


def choose_providers(requested: str) -> list[str]:
    """The provider list to hand onnxruntime for ``auto``, ``cpu`` or ``cuda``."""
    available = ort.get_available_providers()
    if requested == "cpu":
        return [CPU]
    if requested == "cuda":
        if CUDA not in available:
            raise ProviderUnavailableError(
                "execution provider 'cuda' asked for, but this onnxruntime has no CUDA "
                "provider: install the 'gpu' extra (onnxruntime-gpu)"
            )
        return [CUDA, CPU]
    return [CUDA, CPU] if CUDA in available else [CPU]


def batch_buckets(max_batch_size: int) -> tuple[int, ...]:
    """Padded batch sizes: powers of four from 1, then ``max_batch_size`` itself."""
    buckets = []
    size = 1
    while size < max_batch_size:
        buckets.append(size)
        size *= 4
    buckets.append(max_batch_size)
    return tuple(buckets)


def bucket_for(n: int, buckets: Sequence[int]) -> int:
    """The smallest bucket that holds ``n`` items (``n`` itself past the largest)."""
    for size in buckets:
        if size >= n:
            return size
    return n


class GraphSession:
    """One onnxruntime session of one graph; ``run`` maps a batch to its outputs."""

    def __init__(
        self,
        path: Path,
        *,
        input_name: str,
        output_names: tuple[str, ...],
        providers: list[str],
        intra_op_threads: int,
        max_batch_size: int,
        pad_to_buckets: bool | None = None,
        contents: bytes | None = None,
    ) -> None:
        """``pad_to_buckets`` defaults to on for CUDA only; on CPU it serves to test the path.
        ``contents``, when given, are the graph's bytes already read (and hash-checked) from
        ``path``: the session is built from them, so a file changed after its check cannot
        slip in."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning workers burn the CPU the event loop and other sessions need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source: str | bytes = str(path) if contents is None else contents
        self._session = ort.InferenceSession(source, options, providers=provider_options(providers))
        # What onnxruntime really uses (it falls back to CPU silently), and with what options.
        self.provider: str = self._session.get_providers()[0]
        self.provider_options: dict[str, str] = dict(
            self._session.get_provider_options().get(self.provider, {})
        )
        _check_names(path, "input", [i.name for i in self._session.get_inputs()], (input_name,))
        _check_names(path, "output", [o.name for o in self._session.get_outputs()], output_names)
        self.input_name = input_name
        self.output_names = list(output_names)
        if pad_to_buckets is None:
            pad_to_buckets = self.provider == CUDA
        self.buckets = batch_buckets(max_batch_size) if pad_to_buckets else ()
        self._device = "cuda" if self.provider == CUDA else "cpu"
        # Batch sizes warm_up ran, in order: proof that every bucket ran before SERVING.
        self.warmed_sizes: tuple[int, ...] = ()

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """Outputs for ``batch`` (called on an inference thread; onnxruntime drops the GIL)."""
        if not self.buckets:
            return tuple(self._session.run(self.output_names, {self.input_name: batch}))
        return self._run_padded(batch)

    def _run_padded(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        n = batch.shape[0]
        size = bucket_for(n, self.buckets)
        if size != n:
            padded = np.zeros((size, *batch.shape[1:]), dtype=batch.dtype)
            padded[:n] = batch
            batch = padded
        binding = self._session.io_binding()
        binding.bind_cpu_input(self.input_name, batch)
        for name in self.output_names:
            binding.bind_output(name, self._device)
        self._session.run_with_iobinding(binding)
        return tuple(out[:n] for out in binding.copy_outputs_to_cpu())

    def warm_up(self, item_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """Run every batch size a live request can meet (one on CPU; each bucket on CUDA);
        return the outputs of one item, for the caller to check against the manifest."""
        for size in self.buckets:
            self.run(np.zeros((size, *item_shape), dtype=np.float32))
            self.warmed_sizes += (size,)
        outputs = self.run(np.zeros((1, *item_shape), dtype=np.float32))
        if not self.buckets:
            self.warmed_sizes += (1,)
        return outputs


def _check_names(path: Path, kind: str, found: list[str], expected: tuple[str, ...]) -> None:
    missing = [name for name in expected if name not in found]
    if missing:
        raise ValueError(
            f"{path.name} has no {kind} named {', '.join(missing)} (it has {', '.join(found)}); "
            "the repository contract names them"
        )
