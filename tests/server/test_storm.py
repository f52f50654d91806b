"""Clients that cancel and time out at random leave a server that still serves correctly."""

from __future__ import annotations

import asyncio
import contextlib
import random

import grpc
import numpy as np

from tests.tensor_messages import array, random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

CALLS = 150
SETTLED = {grpc.StatusCode.OK, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}


async def one_call(stub: vae_service_pb2_grpc.VaeServiceStub, rng: random.Random) -> str:
    count = rng.choice([1, 3, 40, 200])
    request = pb.DecodeRequest(model_name="tiny-grey", latents=tensor(random_latents(count)))
    call = stub.Decode(request, timeout=rng.uniform(0.0005, 0.05))
    if rng.random() < 0.3:
        await asyncio.sleep(rng.uniform(0, 0.01))
        call.cancel()
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
        await call
    return str((await call.code()).name)


async def storm(address: str) -> list[str]:
    rng = random.Random(7)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        return list(await asyncio.gather(*(one_call(stub, rng) for _ in range(CALLS))))


def test_a_cancel_and_timeout_storm_leaves_the_server_serving(
    server_settings, start_server
) -> None:
    settings = server_settings(max_batch_size=32, max_queue_delay_ms=1.0)
    with start_server(settings) as running:
        codes = asyncio.run(storm(running.address))
        with grpc.insecure_channel(running.address) as channel:
            stub = vae_service_pb2_grpc.VaeServiceStub(channel)
            latents = random_latents(50, seed=3)
            reply = stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=tensor(latents)))
            single = stub.Decode(
                pb.DecodeRequest(model_name="tiny-grey", latents=tensor(latents[-1:]))
            )
        depth = running.server.metrics.registry.get_sample_value(
            "vaeserve_queue_depth_items", {"model": "tiny-grey/2", "graph": "decoder"}
        )
    assert set(codes) <= {code.name for code in SETTLED}
    assert {"CANCELLED", "DEADLINE_EXCEEDED"} & set(codes)
    np.testing.assert_allclose(array(reply.images.tensor)[-1], array(single.images.tensor)[0])
    assert depth == 0
