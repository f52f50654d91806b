"""The load generator of ``vaeserve bench-http``: closed-loop Decode calls over gRPC or HTTP.

It runs in its own process (the server's cores are shared, its GIL is not) and reads one
JSON job per line on stdin, writing one JSON result per line on stdout. Both protocols are
driven the same way, so only the front differs: ``concurrency`` asyncio workers each send
one pre-serialised request (protobuf bytes for gRPC, the proto3 JSON for HTTP), read the
whole answer without parsing it, and send the next. The first answer of each job is parsed
and checked (status, shape), so a wrong answer can never pass for a fast one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
import numpy as np
from google.protobuf import json_format

from vaeserve.bench.stats import summarise
from vaeserve.client.tensors import to_tensor
from vaeserve.v1 import vae_service_pb2 as pb

DECODE = "/vaeserve.v1.VaeService/Decode"
CALL_TIMEOUT_S = 120.0
Send = Callable[[], Awaitable[bytes]]


def decode_request(model: str, items: int, latent_dim: int) -> pb.DecodeRequest:
    latents = np.random.default_rng(0).standard_normal((items, latent_dim))
    return pb.DecodeRequest(model_name=model, latents=to_tensor(latents))


async def measure(job: dict[str, Any]) -> dict[str, Any]:
    """One warm-up and one measured window of closed-loop calls, summarised."""
    request = decode_request(job["model"], job["items"], job["latent_dim"])
    if job["protocol"] == "grpc":
        async with grpc.aio.insecure_channel(
            job["grpc_address"], options=[("grpc.max_receive_message_length", -1)]
        ) as channel:
            call = channel.unary_unary(DECODE, request_serializer=None, response_deserializer=None)

            async def send_grpc() -> bytes:
                reply: bytes = await call(request.SerializeToString(), timeout=CALL_TIMEOUT_S)
                return reply

            check_grpc(await send_grpc(), job)
            return await closed_loop(send_grpc, job)
    body = json_format.MessageToJson(request, indent=None).encode()
    url = f"{job['http_url']}/v1/models/{job['model']}:decode"
    connector = aiohttp.TCPConnector(limit=job["concurrency"])
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send_http() -> bytes:
            async with session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as answer:
                data = await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"HTTP {answer.status}")
                return data

        check_http(await send_http(), job)
        return await closed_loop(send_http, job)


def check_grpc(reply: bytes, job: dict[str, Any]) -> None:
    shape = list(pb.DecodeResponse.FromString(reply).images.tensor.shape)
    if shape[0] != job["items"]:
        raise RuntimeError(f"gRPC Decode answered shape {shape}")


def check_http(reply: bytes, job: dict[str, Any]) -> None:
    shape = [int(n) for n in json.loads(reply)["images"]["tensor"]["shape"]]
    if shape[0] != job["items"]:
        raise RuntimeError(f"HTTP Decode answered shape {shape}")


async def closed_loop(send: Send, job: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    window_start = started + job["warmup_s"]
    window_end = window_start + job["duration_s"]
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def worker() -> None:
        while True:
            sent = time.perf_counter()
            if sent >= window_end:
                return
            try:
                await send()
            except Exception as error:  # counted, not fatal: the report shows them
                errors[type(error).__name__] += 1
                continue
            done = time.perf_counter()
            if window_start <= done <= window_end:
                latencies.append(done - sent)

    await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
    return summarise(latencies, job["items"], job["duration_s"], errors).to_dict()


def main() -> int:
    for line in sys.stdin:
        try:
            result = asyncio.run(measure(json.loads(line)))
        except Exception as error:
            result = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
