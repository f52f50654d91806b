"""SIGTERM on a real `vaeserve serve` process: drain, finish what is in flight, exit 0;
and what each of many calls racing a drain ends with."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from tests.http_calls import call
from tests.serve_process import ServeProcess
from tests.tensor_messages import random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

HOLD_MS = 1000  # a lone request waits this long in the queue: it is in flight at SIGTERM


def queued_items(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
        text = page.read().decode()
    found = re.search(
        r'vaeserve_queue_depth_items\{graph="decoder",model="tiny-grey/2"\} (\S+)', text
    )
    return float(found.group(1)) if found else 0.0


def wait_queued(metrics_port: int) -> None:
    for _ in range(200):
        if queued_items(metrics_port) >= 1:
            return
        time.sleep(0.02)
    raise AssertionError("the request never reached the queue")


def test_sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_0(tiny_repository) -> None:
    flags = ("--max-queue-delay-ms", str(HOLD_MS), "--grace-period-s", "5")
    with ServeProcess(tiny_repository, *flags) as server:
        server.start()
        metrics_port = server.metrics_port
        with grpc.insecure_channel(server.address) as channel:
            stub = vae_service_pb2_grpc.VaeServiceStub(channel)
            request = pb.DecodeRequest(model_name="tiny-grey", latents=tensor(random_latents(1)))
            in_flight = stub.Decode.future(request, timeout=10)
            wait_queued(metrics_port)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with pytest.raises(grpc.RpcError) as refused:
                stub.Decode(request, timeout=5)
            reply = in_flight.result(timeout=10)
        returncode = server.process.wait(timeout=15)
        server.reader.join(5)
        log = server.log()
    assert reply.images.tensor.shape == [1, 1, 8, 8]
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert returncode == 0
    assert "stopped" in log


def test_sigterm_drains_http_requests_like_grpc_ones(tiny_repository) -> None:
    flags = ("--max-queue-delay-ms", str(HOLD_MS), "--grace-period-s", "5")
    body = json.dumps({"latents": {"shape": [1, 2], "data": "AAAAAAAAAAA="}}).encode()
    with ServeProcess(tiny_repository, *flags) as server:
        server.start()
        decode = f"{server.http_url}/v1/models/tiny-grey:decode"
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(call, decode, "POST", body)
            wait_queued(server.metrics_port)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            ready = call(f"{server.http_url}/readyz")
            refused = call(decode, "POST", body)
            reply = in_flight.result(timeout=10)
        returncode = server.process.wait(timeout=15)
    assert reply.status == 200
    assert reply.json()["images"]["tensor"]["shape"] == ["1", "1", "8", "8"]
    assert ready.status == 503
    assert (refused.status, refused.json()["code"]) == (503, 14)
    assert refused.headers.get("Connection") == "close"
    assert returncode == 0


DRAIN_MESSAGE = "the server is shutting down"
RACERS = 16  # concurrent callers, each sending its next call as soon as the last one ends
RACE_BEFORE_STOP_S = 0.3


def decode_codes_seen_by_the_servicer(running: Any) -> Counter[str]:
    codes: Counter[str] = Counter()
    for metric in running.server.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "vaeserve_requests_total" and sample.labels["method"] == "Decode":
                codes[sample.labels["code"]] += int(sample.value)
    return codes


async def race_a_stop(running: Any) -> Counter[tuple[str, str]]:
    """RACERS callers send Decodes back to back (plus bursts that pile up in grpc's core)
    while the server stops; every call's (code, kind of message)."""
    request = pb.DecodeRequest(model_name="tiny-grey", latents=tensor(random_latents(1)))
    outcomes: Counter[tuple[str, str]] = Counter()
    stopped = asyncio.Event()

    async def call(stub: vae_service_pb2_grpc.VaeServiceStub) -> None:
        try:
            await stub.Decode(request, timeout=30)
            outcomes["OK", ""] += 1
        except grpc.aio.AioRpcError as error:
            details = error.details() or ""
            kind = "drain" if DRAIN_MESSAGE in details else details[:40]
            outcomes[error.code().name, kind] += 1

    async def racer(stub: vae_service_pb2_grpc.VaeServiceStub) -> None:
        while not stopped.is_set():
            await asyncio.gather(*(call(stub) for _ in range(4)))

    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        racing = [asyncio.create_task(racer(stub)) for _ in range(RACERS)]
        await asyncio.sleep(RACE_BEFORE_STOP_S)
        stopping = asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(running.server.stop(5.0), running.loop)
        )
        await asyncio.sleep(0.2)  # keep calling into the drain and past the listener's close
        stopped.set()
        await asyncio.gather(*racing)
        await stopping
    return outcomes


def test_calls_racing_a_stop_end_ok_unavailable_or_cancelled_before_admission(
    server_settings, start_server
) -> None:
    """What a client sees when its call meets a drain (server/README.md, SIGTERM):

    - OK: the servicer admitted it before the drain; it finished within the grace.
    - UNAVAILABLE "the server is shutting down": it reached the servicer during the drain.
    - UNAVAILABLE from the channel: the listener had closed; nothing reached the server.
    - CANCELLED, with no message of ours: it reached grpc's core but never the servicer
      before the core shut down (the core cancels the calls it never handed over).
    Never anything else; and every call the servicer saw ended OK or UNAVAILABLE, so every
    CANCELLED one is a call the server never started: safe to send again.
    """
    with start_server(server_settings(metrics_port=-1)) as running:
        outcomes = asyncio.run(race_a_stop(running))
        seen = decode_codes_seen_by_the_servicer(running)
    codes = Counter[str]()
    for (code, _), count in outcomes.items():
        codes[code] += count
    print(f"calls racing a stop: {dict(outcomes)}; the servicer saw {dict(seen)}")
    assert set(codes) <= {"OK", "UNAVAILABLE", "CANCELLED"}, outcomes
    assert codes["OK"] > 0
    assert set(seen) <= {"OK", "UNAVAILABLE"}, seen
    # Each call the servicer saw is one of the client's OK or drain-UNAVAILABLE calls (the
    # counts match), so no CANCELLED or channel-UNAVAILABLE call is among them.
    assert seen["OK"] == codes["OK"]  # every admitted call was answered, and answered OK
    assert seen["UNAVAILABLE"] == outcomes["UNAVAILABLE", "drain"]
    assert not any(kind == "drain" for (code, kind) in outcomes if code == "CANCELLED")
    assert all(kind != "" for (code, kind) in outcomes if code == "UNAVAILABLE")
