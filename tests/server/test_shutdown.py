"""SIGTERM on a real `vaeserve serve` process: drain, finish what is in flight, exit 0."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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
