"""Shared fixtures: a real model repository, and a real server on 127.0.0.1 to call.

Chain: ``tiny_repository`` (files on disk) -> ``server_settings`` (a Settings factory) ->
``running_server`` (vaeserve in-process on an ephemeral port) -> ``channel`` -> ``stub`` /
``health_stub``. ``start_server`` starts further servers with other settings. Graph
builders live in tests/onnx_models.py. Helpers are imported one way, from the repository
root: ``from tests import onnx_models``, ``from tests.serve_process import ServeProcess``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2_grpc

from tests import onnx_models
from vaeserve.server.app import VaeServer, create_server
from vaeserve.server.settings import Settings
from vaeserve.v1 import vae_service_pb2_grpc

SettingsFactory = Callable[..., Settings]


@dataclass(frozen=True)
class RunningServer:
    """A live server: dial ``address`` for gRPC, ``metrics_port`` for /metrics."""

    address: str
    port: int
    metrics_port: int
    server: VaeServer
    loop: asyncio.AbstractEventLoop

    def call(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's event loop (e.g. ``server.stop()``) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextlib.contextmanager
def serve_in_thread(settings: Settings, *, load_models: bool = True) -> Iterator[RunningServer]:
    """Start vaeserve on its own event-loop thread; stop it and the loop on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-server-loop", daemon=True)
    thread.start()

    async def up() -> tuple[VaeServer, int]:
        server, port = await create_server(settings)
        await server.start()
        if load_models:
            await server.load_models()
        return server, port

    try:
        server, port = asyncio.run_coroutine_threadsafe(up(), loop).result(60)
        running = RunningServer(f"127.0.0.1:{port}", port, server.metrics_port or 0, server, loop)
        try:
            yield running
        finally:
            running.call(server.stop(1.0))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="session")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model repository of real tiny ONNX graphs: tiny-grey (1x8x8, latent 2, versions 1
    and 2) and tiny-rgb (3x8x8, latent 4, version 1). Read-only: tests that tamper with a
    model build their own with ``onnx_models.write_model``."""
    repository: Path = onnx_models.write_repository(tmp_path_factory.mktemp("repository"))
    return repository


@pytest.fixture(scope="session")
def server_settings(tiny_repository: Path) -> SettingsFactory:
    """Build Settings for a test server: loopback, ephemeral ports, the tiny repository,
    one onnxruntime thread; keyword arguments override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "metrics_port": 0,
            "http_port": 0,
            "model_repository": tiny_repository,
            "intra_op_threads": 1,
            "inference_threads": 2,
            "grace_period_s": 1.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def start_server() -> Callable[..., contextlib.AbstractContextManager[RunningServer]]:
    """``with start_server(settings) as running:`` a further server with its own settings;
    ``load_models=False`` leaves it listening with models not yet loaded."""
    return serve_in_thread


@pytest.fixture(scope="session")
def running_server(server_settings: SettingsFactory) -> Iterator[RunningServer]:
    """One server for the session on the tiny repository, default batching, models ready."""
    with serve_in_thread(server_settings()) as running:
        yield running


@pytest.fixture(scope="session")
def channel(running_server: RunningServer) -> Iterator[grpc.Channel]:
    """A plain (blocking) gRPC channel to ``running_server``."""
    with grpc.insecure_channel(running_server.address) as chan:
        yield chan


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> vae_service_pb2_grpc.VaeServiceStub:
    """The generated VaeService stub on ``channel``."""
    return vae_service_pb2_grpc.VaeServiceStub(channel)


@pytest.fixture(scope="session")
def health_stub(channel: grpc.Channel) -> health_pb2_grpc.HealthStub:
    """The standard grpc.health.v1 stub on ``channel``."""
    return health_pb2_grpc.HealthStub(channel)
