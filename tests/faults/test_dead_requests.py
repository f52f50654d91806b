"""Under load, requests whose client gave up are dropped before compute, and /metrics says so.

tests/server/test_batcher.py shows the drop on a lone batcher, test_errors.py a deadline
passing in a held queue, test_storm.py a storm leaving the server healthy. Here clients
with tiny deadlines and clients that cancel arrive while steady load keeps the queue busy,
and the accounting on /metrics must add up: every dropped item was never computed, so
items processed plus items dropped never exceed the items sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import urllib.request

import grpc
import numpy as np

from tests.load.open_loop import drive
from tests.serve_process import EMBEDDED_MODELS, metric_sum
from tests.tensor_messages import tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

MODEL = "fashion-mnist-conv"
ITEMS = 64
DEAD_CALLS = 200
HOLD_MS = 50.0  # a batch waits this long to fill, so a 5-30 ms deadline passes in the queue


async def dead_call(stub: vae_service_pb2_grpc.VaeServiceStub, rng: random.Random) -> str:
    """A call whose client gives up: a tiny deadline, or a cancel soon after sending."""
    latents = np.random.default_rng(rng.randrange(1000)).standard_normal((ITEMS, 32), "f4")
    request = pb.DecodeRequest(model_name=MODEL, latents=tensor(latents))
    cancel = rng.random() < 0.5
    call = stub.Decode(request, timeout=10.0 if cancel else rng.uniform(0.005, 0.03))
    if cancel:
        await asyncio.sleep(rng.uniform(0.005, 0.02))
        call.cancel()
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
        await call
    return str((await call.code()).name)


async def dead_calls_under_load(address: str) -> tuple[list[str], int]:
    rng = random.Random(11)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        load = asyncio.create_task(
            drive(address, model=MODEL, items=ITEMS, rate_per_s=50.0, duration_s=3.0)
        )
        codes = []
        for _ in range(DEAD_CALLS // 20):  # waves of 20 spread over the load
            codes += await asyncio.gather(*(dead_call(stub, rng) for _ in range(20)))
            await asyncio.sleep(0.1)
        result = await load
    return codes, result.sent


def test_items_of_dead_requests_under_load_are_dropped_not_computed(
    server_settings, start_server
) -> None:
    settings = server_settings(
        model_repository=EMBEDDED_MODELS, max_queue_delay_ms=HOLD_MS, intra_op_threads=2
    )
    with start_server(settings) as running:
        codes, load_sent = asyncio.run(dead_calls_under_load(running.address))
        url = f"http://127.0.0.1:{running.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as page:
            text = page.read().decode()
    graph = {"model": f"{MODEL}/1", "graph": "decoder"}
    deadline = metric_sum(text, "vaeserve_dropped_items_total", reason="deadline_exceeded", **graph)
    cancelled = metric_sum(text, "vaeserve_dropped_items_total", reason="cancelled", **graph)
    processed = metric_sum(text, "vaeserve_items_processed_total", **graph)
    sent_items = ITEMS * (load_sent + DEAD_CALLS)
    print(f"dead requests: client codes {sorted(set(codes))}, dropped deadline {deadline:g} "
          f"cancelled {cancelled:g}, processed {processed:g} of {sent_items} sent")  # fmt: skip
    assert deadline > 0 and cancelled > 0
    assert processed + deadline + cancelled <= sent_items
    assert set(codes) <= {"OK", "CANCELLED", "DEADLINE_EXCEEDED"}
