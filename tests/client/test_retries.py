"""The channel retries transient codes (per its service config), never a caller's mistake
and never a call its caller cancelled.

A real gRPC server stands in front of the real vaeserve: it refuses the first calls with
UNAVAILABLE, RESOURCE_EXHAUSTED or CANCELLED (or INVALID_ARGUMENT), then forwards to
vaeserve.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from vaeserve.client import (
    AsyncClient,
    Client,
    ClientOptions,
    InvalidArgumentError,
    UnavailableError,
)
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc


class RefusingFront(pb_grpc.VaeServiceServicer):
    """Answers ``refusals`` ListModels calls with ``code``, then forwards to vaeserve."""

    def __init__(self, backend: str, refusals: int, code: grpc.StatusCode) -> None:
        self.calls = 0
        self._refusals = refusals
        self._code = code
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(backend)
        self._backend = pb_grpc.VaeServiceStub(self._channel)

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        with self._lock:
            self.calls += 1
            refuse = self.calls <= self._refusals
        if refuse:
            context.abort(self._code, "refused by the test front")
        reply: pb.ListModelsResponse = self._backend.ListModels(request, timeout=10)
        return reply


def start_front(front: pb_grpc.VaeServiceServicer) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_VaeServiceServicer_to_server(front, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture()
def front_factory(address: str) -> Iterator[object]:
    servers: list[grpc.Server] = []

    def make(refusals: int, code: grpc.StatusCode) -> tuple[RefusingFront, str]:
        front = RefusingFront(address, refusals, code)
        server, port = start_front(front)
        servers.append(server)
        return front, f"127.0.0.1:{port}"

    yield make
    for server in servers:
        server.stop(None)


FAST = ClientOptions(initial_backoff=0.01, max_backoff=0.05, timeout=10.0)


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED],
)
def test_transient_refusals_are_retried_until_the_server_answers(front_factory, code) -> None:
    front, target = front_factory(2, code)
    with Client(target, options=FAST) as client:
        models = client.list_models()
    assert models
    assert front.calls == 3


def test_refusals_past_max_attempts_surface_as_unavailable(front_factory) -> None:
    front, target = front_factory(10, grpc.StatusCode.UNAVAILABLE)
    options = ClientOptions(initial_backoff=0.01, max_backoff=0.05, max_attempts=3)
    with Client(target, options=options) as client, pytest.raises(UnavailableError) as caught:
        client.list_models()
    assert front.calls == 3
    assert caught.value.details == "refused by the test front"


def test_invalid_argument_is_not_retried(front_factory) -> None:
    front, target = front_factory(1, grpc.StatusCode.INVALID_ARGUMENT)
    with Client(target, options=FAST) as client, pytest.raises(InvalidArgumentError):
        client.list_models()
    assert front.calls == 1


class HoldingFront(pb_grpc.VaeServiceServicer):
    """Counts ListModels calls and holds each until released, then refuses it."""

    def __init__(self) -> None:
        self.calls = 0
        self.arrived = threading.Event()
        self.release = threading.Event()

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        self.calls += 1
        self.arrived.set()
        self.release.wait(10)
        context.abort(grpc.StatusCode.UNAVAILABLE, "released by the test")


def test_a_call_its_caller_cancels_is_not_sent_again() -> None:
    front = HoldingFront()
    server, port = start_front(front)

    async def scenario() -> None:
        async with AsyncClient(f"127.0.0.1:{port}", options=FAST) as client:
            call = asyncio.create_task(client.list_models())
            assert await asyncio.to_thread(front.arrived.wait, 10)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            front.release.set()
            await asyncio.sleep(0.3)  # several backoffs of FAST: time for a retry to show

    try:
        asyncio.run(scenario())
    finally:
        front.release.set()
        server.stop(None)
    assert front.calls == 1
