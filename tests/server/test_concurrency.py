"""Concurrent requests of mixed sizes each get their own results, batched or not."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import onnxruntime as ort
import pytest

from tests.tensor_messages import array, random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

SIZES = [1, 7, 1, 30, 2, 65, 1, 3, 129, 1, 16, 4] * 3


async def decode_all(address: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        requests = [pb.DecodeRequest(model_name="tiny-grey", latents=tensor(z)) for z in inputs]
        replies = await asyncio.gather(*(stub.Decode(request) for request in requests))
    return [array(reply.images.tensor) for reply in replies]


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_requests_get_their_own_results(
    server_settings, start_server, tiny_repository, batching
) -> None:
    inputs = [random_latents(n, seed=i) for i, n in enumerate(SIZES)]
    settings = server_settings(batching=batching, max_batch_size=32, max_queue_delay_ms=1.0)
    with start_server(settings) as running:
        outputs = asyncio.run(decode_all(running.address, inputs))
    reference = ort.InferenceSession(
        str(tiny_repository / "tiny-grey" / "2" / "decoder.onnx"),
        providers=["CPUExecutionProvider"],
    )
    for got, z in zip(outputs, inputs, strict=True):
        (expected,) = reference.run(["x"], {"z": z})
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
