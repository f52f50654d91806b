"""Channel options that reach the wire: dns:/// with round_robin, the bearer token, and
several channels (one connection each, taken in turn)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import numpy as np
import psutil
import pytest

from tests.client.conftest import GREY
from vaeserve.client import AsyncClient, Client, ClientOptions
from vaeserve.client.options import service_config
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc


def test_dns_target_with_round_robin_reaches_the_server(address: str) -> None:
    port = address.rsplit(":", 1)[1]
    with Client(f"dns:///127.0.0.1:{port}") as client:
        assert client.list_models()
    assert json.loads(service_config(client.options))["loadBalancingConfig"] == [
        {"round_robin": {}}
    ]


def test_retry_policy_covers_only_transient_codes() -> None:
    config = json.loads(service_config(ClientOptions(max_attempts=3)))
    policy = config["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "CANCELLED"]
    assert policy["maxAttempts"] == 3


class MetadataRecorder(pb_grpc.VaeServiceServicer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        self.seen.extend((k, str(v)) for k, v in context.invocation_metadata())
        return pb.ListModelsResponse()


def test_bearer_token_travels_as_authorization_metadata() -> None:
    recorder = MetadataRecorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    pb_grpc.add_VaeServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client(f"127.0.0.1:{port}", options=ClientOptions(token="s3cret")) as client:
            assert client.list_models() == []
    finally:
        server.stop(None)
    assert ("authorization", "Bearer s3cret") in recorder.seen


def test_a_single_attempt_turns_retries_off(address: str) -> None:
    options = ClientOptions(max_attempts=1)
    assert "retryPolicy" not in service_config(options)
    with Client(address, options=options) as client:
        assert client.list_models()


def server_connections(port: int) -> int:
    """This process's established TCP connections to ``port``: a client's side of them."""
    return sum(
        1
        for c in psutil.Process().net_connections("tcp")
        if c.raddr and c.raddr[1] == port and c.status == psutil.CONN_ESTABLISHED
    )


def wait_for_connections(port: int, count: int) -> int:
    """The connection count once it equals ``count``, or after 5 s, whatever it is then."""
    deadline = time.monotonic() + 5.0
    while server_connections(port) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    return server_connections(port)


@pytest.fixture()
def own_server(server_settings: Any, start_server: Any) -> Iterator[Any]:
    """A server no other test's channel is connected to, so its connections can be counted."""
    with start_server(server_settings(), load_models=False) as running:
        yield running


def test_several_channels_open_one_connection_each(own_server: Any) -> None:
    with Client(own_server.address, options=ClientOptions(channels=3)) as client:
        for _ in range(3):
            client.list_models()
        assert wait_for_connections(own_server.port, 3) == 3


def test_one_channel_keeps_one_connection(own_server: Any) -> None:
    with Client(own_server.address) as client:
        for _ in range(3):
            client.list_models()
        assert wait_for_connections(own_server.port, 1) == 1


def test_close_closes_every_channel(own_server: Any) -> None:
    client = Client(own_server.address, options=ClientOptions(channels=3))
    for _ in range(3):
        client.list_models()
    client.close()
    assert wait_for_connections(own_server.port, 0) == 0
    for _ in range(3):  # each channel in turn refuses
        with pytest.raises(ValueError, match="closed channel"):
            client.list_models()


def test_async_close_closes_every_channel(own_server: Any) -> None:
    async def scenario() -> None:
        async with AsyncClient(own_server.address, options=ClientOptions(channels=3)) as client:
            await asyncio.gather(*(client.list_models() for _ in range(3)))
            assert wait_for_connections(own_server.port, 3) == 3

    asyncio.run(scenario())
    assert wait_for_connections(own_server.port, 0) == 0


class PeerRecorder(pb_grpc.VaeServiceServicer):
    """Notes the client address (host:port, one per connection) of every call."""

    def __init__(self) -> None:
        self.peers: list[str] = []

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        self.peers.append(context.peer())
        return pb.ListModelsResponse()


@pytest.fixture()
def peer_recorder() -> Iterator[tuple[PeerRecorder, str]]:
    recorder = PeerRecorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    pb_grpc.add_VaeServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield recorder, f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def test_calls_take_the_channels_in_turn(peer_recorder: tuple[PeerRecorder, str]) -> None:
    recorder, target = peer_recorder
    with Client(target, options=ClientOptions(channels=3)) as client:
        for _ in range(9):
            client.list_models()
    assert len(set(recorder.peers)) == 3
    assert recorder.peers[3:] == recorder.peers[:-3]  # a strict rotation: 1, 2, 3, 1, 2, 3 ...


def test_async_calls_take_the_channels_in_turn(peer_recorder: tuple[PeerRecorder, str]) -> None:
    recorder, target = peer_recorder

    async def scenario() -> None:
        async with AsyncClient(target, options=ClientOptions(channels=3)) as client:
            for _ in range(9):
                await client.list_models()

    asyncio.run(scenario())
    assert len(set(recorder.peers)) == 3
    assert recorder.peers[3:] == recorder.peers[:-3]


def test_every_call_succeeds_over_several_channels(address: str) -> None:
    latents = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    with Client(address) as one:
        expected = one.decode(GREY, latents).images
    with Client(address, options=ClientOptions(channels=4)) as client:
        results = [client.decode(GREY, latents).images for _ in range(8)]
        assert client.sample(GREY, 2, seed=1).images.shape == (2, 1, 8, 8)
    for images in results:
        np.testing.assert_allclose(images, expected, atol=1e-6)


def test_async_chunks_spread_over_channels_come_back_in_order(small_limit_address: str) -> None:
    images = np.random.default_rng(2).random((10, 1, 8, 8), dtype=np.float32)

    async def scenario() -> tuple[np.ndarray, np.ndarray]:
        async with AsyncClient(small_limit_address, options=ClientOptions(channels=3)) as client:
            joined = await client.encode(GREY, images)
            alone = await client.encode(GREY, images[-1:])
        return joined.mean, alone.mean

    joined, alone = asyncio.run(scenario())
    assert joined.shape == (10, 2)
    np.testing.assert_allclose(joined[-1:], alone, atol=1e-6)


def test_fewer_than_one_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="channels"):
        ClientOptions(channels=0)
