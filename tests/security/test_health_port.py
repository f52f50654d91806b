"""A TLS server's plaintext health-only port: what a probe that speaks no TLS can ask.

The kubelet's gRPC probe has no TLS; ``--health-port`` gives it a second, plaintext port
with nothing but ``grpc.health.v1`` on it, sharing the main port's health state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.security.pki import Pki, insecure_channel, list_models, status_of_call
from vaeserve.server.app import create_server
from vaeserve.server.settings import Settings

SERVICE = "vaeserve.v1.VaeService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture()
def tls_server_with_health_port(server_settings: Any, start_server: Any, pki: Pki) -> Iterator[Any]:
    settings = server_settings(
        tls_cert_file=pki.server.cert_file, tls_key_file=pki.server.key_file, health_port=0
    )
    with start_server(settings) as running:
        yield running


def check(port: int, service: str = "") -> int:
    with insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(reply.status)


def test_a_tls_server_answers_plaintext_health_checks_on_its_health_port(
    tls_server_with_health_port: Any,
) -> None:
    port = tls_server_with_health_port.server.health_port
    assert check(port) == SERVING
    assert check(port, SERVICE) == SERVING
    assert check(port, "tiny-grey") == SERVING


def test_the_health_port_serves_nothing_but_health(tls_server_with_health_port: Any) -> None:
    port = tls_server_with_health_port.server.health_port
    with insecure_channel(f"127.0.0.1:{port}") as channel, pytest.raises(grpc.RpcError) as caught:
        list_models(channel)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_main_port_still_refuses_plaintext(tls_server_with_health_port: Any) -> None:
    with insecure_channel(tls_server_with_health_port.address) as channel:
        assert status_of_call(channel) == grpc.StatusCode.UNAVAILABLE


def test_the_health_port_turns_not_serving_when_the_server_drains(
    tls_server_with_health_port: Any,
) -> None:
    running = tls_server_with_health_port
    running.call(running.server.health.drain())
    assert check(running.server.health_port, SERVICE) == NOT_SERVING


def test_there_is_no_health_port_unless_asked_for(running_server: Any) -> None:
    assert running_server.server.health_port is None


def test_a_health_port_equal_to_the_main_port_is_refused() -> None:
    with pytest.raises(ValueError, match="health_port must differ from port"):
        Settings(port=50051, health_port=50051)


def test_a_health_port_already_taken_stops_the_start_with_a_clear_error(
    tls_server_with_health_port: Any, server_settings: Any
) -> None:
    taken = tls_server_with_health_port.server.health_port
    with pytest.raises(OSError, match=rf"cannot listen on 127\.0\.0\.1:{taken}"):
        asyncio.run(create_server(server_settings(health_port=taken)))
