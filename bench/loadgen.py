"""A closed-loop gRPC load generator that runs in its own process.

Closed loop: ``concurrency`` workers each send a call, await its answer and send the next,
so the offered load is whatever the target sustains, and latency is never inflated by a
client-side queue. It runs in a separate process so that the client's Python work does not
share a GIL with the server's; on a small machine it still shares the cores, which is why
every target is driven by this same generator and compared only with each other.

Requests are serialised once and sent as bytes, and answers are counted but not parsed
(apart from one checked answer per job), which keeps the client's CPU share small.

The process reads one JSON job per line on stdin and writes one JSON line per job on
stdout: a :class:`~vaeserve.bench.stats.LoadResult` or ``{"error": ...}``.
:class:`LoadGenerator` is the parent's handle on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import grpc
import numpy as np

from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.stats import LoadResult, summarise
from vaeserve.client.tensors import WIRE_DTYPE, images_message, to_tensor
from vaeserve.v1 import vae_service_pb2 as pb

SERVICE = "/vaeserve.v1.VaeService/"
CALL_TIMEOUT_S = 120.0
# A slow scenario (64 workers x 256 conv images) keeps warming up until every worker has
# had an answer, but not for longer than this.
MAX_WARMUP_S = 30.0
# The measured window lasts at least this many warm-up latencies, so a scenario whose calls
# take seconds is not judged on a fraction of one round of answers...
MIN_ROUNDS = 3
# ...but never longer than this.
MAX_WINDOW_S = 20.0
# A worker whose call was refused for load waits this long before its next call, as a
# client with back-off would, instead of spinning on refusals and stealing the CPU it asks
# the server to use.
BACKOFF_S = 0.01
BACKOFF_CODES = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]


class LoadGenError(RuntimeError):
    """The target answered wrongly, or the load generator process failed."""


@dataclass(frozen=True)
class LoadJob:
    """One scenario against one target address."""

    address: str
    scenario: Scenario
    shape: ModelShape
    duration_s: float
    warmup_s: float
    channels: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> LoadJob:
        data = json.loads(line)
        return cls(
            address=data["address"],
            scenario=Scenario(**data["scenario"]),
            shape=ModelShape(**data["shape"]),
            duration_s=float(data["duration_s"]),
            warmup_s=float(data["warmup_s"]),
            channels=int(data["channels"]),
        )


def build_request(scenario: Scenario, shape: ModelShape) -> bytes:
    """The serialised request every worker of a scenario sends."""
    rng = np.random.default_rng(0)
    n = scenario.items
    if scenario.method == "Decode":
        latents = rng.standard_normal((n, shape.latent_dim), dtype=np.float32)
        request = pb.DecodeRequest(model_name=shape.name, latents=to_tensor(latents))
        return request.SerializeToString()
    if scenario.method == "Sample":
        return pb.SampleRequest(model_name=shape.name, count=n, seed=7).SerializeToString()
    if scenario.method == "Encode":
        images = rng.random((n, shape.channels, shape.height, shape.width), dtype=np.float32)
        encode = pb.EncodeRequest(model_name=shape.name, images=images_message(images))
        return encode.SerializeToString()
    raise LoadGenError(f"unknown method {scenario.method!r}")


def answered_items(method: str, answer: bytes) -> int:
    """How many items an answer carries, checking that its tensor holds what its shape says."""
    if method == "Encode":
        tensor = pb.EncodeResponse.FromString(answer).mean
    elif method == "Decode":
        tensor = pb.DecodeResponse.FromString(answer).images.tensor
    else:
        tensor = pb.SampleResponse.FromString(answer).images.tensor
    expected_bytes = WIRE_DTYPE.itemsize * int(np.prod(tensor.shape)) if tensor.shape else 0
    if not tensor.shape or len(tensor.data) != expected_bytes:
        raise LoadGenError(f"{method} answered a malformed tensor of shape {list(tensor.shape)}")
    return int(tensor.shape[0])


class _Recorder:
    """Collects (end time, latency, status) of every call; the window is cut out afterwards."""

    def __init__(self, workers: int) -> None:
        self.calls: list[tuple[float, float, str]] = []
        self._waiting = set(range(workers))
        self.all_answered = asyncio.Event()

    def record(self, worker: int, start: float, end: float, status: str) -> None:
        self.calls.append((end, end - start, status))
        self._waiting.discard(worker)
        if not self._waiting:
            self.all_answered.set()


async def _worker(
    worker: int,
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes],
    request: bytes,
    recorder: _Recorder,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            await call(request, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            code = error.code()
        recorder.record(worker, start, time.perf_counter(), code.name)
        if code in BACKOFF_CODES:
            await asyncio.sleep(BACKOFF_S)


async def _check_answer(call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes], job: LoadJob) -> None:
    """Fail the job when the target answers a well-formed request with the wrong item count."""
    try:
        answer = await call(build_request(job.scenario, job.shape), timeout=CALL_TIMEOUT_S)
    except grpc.aio.AioRpcError:
        return  # counted with the load's errors instead
    items = answered_items(job.scenario.method, answer)
    if items != job.scenario.items:
        raise LoadGenError(
            f"{job.address} answered {job.scenario.method} for {job.scenario.items} items "
            f"with {items}"
        )


async def run_job(job: LoadJob) -> LoadResult:
    """Drive one scenario: warm up, measure for ``duration_s``, let the last calls finish."""
    options = list(CHANNEL_OPTIONS)
    if job.channels > 1:
        options.append(("grpc.use_local_subchannel_pool", 1))  # one connection per channel
    channels = [
        grpc.aio.insecure_channel(job.address, options=options) for _ in range(job.channels)
    ]
    try:
        calls = [
            ch.unary_unary(
                SERVICE + job.scenario.method, request_serializer=None, response_deserializer=None
            )
            for ch in channels
        ]
        await _check_answer(calls[0], job)
        return await _measure(job, calls)
    finally:
        for channel in channels:
            await channel.close(grace=None)


async def _measure(
    job: LoadJob, calls: list[grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]]
) -> LoadResult:
    request = build_request(job.scenario, job.shape)
    recorder = _Recorder(job.scenario.concurrency)
    stop = asyncio.Event()
    workers = [
        asyncio.create_task(_worker(i, calls[i % len(calls)], request, recorder, stop))
        for i in range(job.scenario.concurrency)
    ]
    await asyncio.sleep(job.warmup_s)
    # Past MAX_WARMUP_S, measure anyway; the report shows how few answers came.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(recorder.all_answered.wait(), MAX_WARMUP_S)
    window_start = time.perf_counter()
    await asyncio.sleep(measure_window_s(job.duration_s, recorder.calls))
    window_end = time.perf_counter()
    stop.set()
    await asyncio.gather(*workers)
    inside = [
        (lat, status) for end, lat, status in recorder.calls if window_start <= end <= window_end
    ]
    errors = Counter(status for _, status in inside if status != "OK")
    latencies = [lat for lat, status in inside if status == "OK"]
    return summarise(latencies, job.scenario.items, window_end - window_start, errors)


def measure_window_s(duration_s: float, warmup_calls: list[tuple[float, float, str]]) -> float:
    """``duration_s``, stretched to MIN_ROUNDS median warm-up latencies (at most MAX_WINDOW_S)."""
    latencies = sorted(latency for _, latency, _ in warmup_calls)
    if not latencies:
        return duration_s
    stretched = MIN_ROUNDS * latencies[len(latencies) // 2]
    return max(duration_s, min(stretched, MAX_WINDOW_S))


def main() -> int:
    """The child process: answer every job line on stdin with a result line on stdout."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply: dict[str, Any] = asyncio.run(run_job(LoadJob.from_json(line))).to_dict()
        except (LoadGenError, grpc.RpcError, ValueError, KeyError) as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)
    return 0


class LoadGenerator:
    """The parent's handle on one long-lived load generator process."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "vaeserve.bench.loadgen"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def run(self, job: LoadJob) -> LoadResult:
        self.send(job)
        return self.receive(job)

    def send(self, job: LoadJob) -> None:
        """Start ``job`` and return at once: several generators can then load one target
        together (each in its own process), and :meth:`receive` collects each result."""
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(job.to_json() + "\n")
        stdin.flush()

    def receive(self, job: LoadJob) -> LoadResult:
        """The result of the ``job`` sent last; blocks until the generator is done with it."""
        stdout = self._process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise LoadGenError(f"the load generator exited with {self._process.wait()}")
        data = json.loads(line)
        if "error" in data:
            raise LoadGenError(f"{job.scenario} against {job.address}: {data['error']}")
        return LoadResult.from_dict(data)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":
    raise SystemExit(main())
