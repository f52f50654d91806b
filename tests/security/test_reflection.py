"""Reflection sits behind the token and can be turned off; so can the metrics endpoint."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.security.pki import CALL_TIMEOUT, bearer, insecure_channel


def services(address: str, metadata: Any = None) -> list[str]:
    """The service names server reflection lists, or the RpcError it ends with."""
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    with insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(
            iter([request]), metadata=metadata, timeout=CALL_TIMEOUT
        )
        return [s.name for reply in replies for s in reply.list_services_response.service]


def reflection_status(address: str, metadata: Any = None) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        services(address, metadata)
    code: grpc.StatusCode = caught.value.code()
    return code


def test_reflection_needs_the_token(token_server: Any) -> None:
    assert reflection_status(token_server.address) == grpc.StatusCode.UNAUTHENTICATED


def test_reflection_lists_the_services_with_the_token(token_server: Any) -> None:
    assert "vaeserve.v1.VaeService" in services(token_server.address, bearer())


def test_reflection_can_be_turned_off(server_settings: Any, start_server: Any) -> None:
    with start_server(server_settings(reflection=False), load_models=False) as running:
        assert reflection_status(running.address) == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_is_on_by_default(running_server: Any) -> None:
    assert "vaeserve.v1.VaeService" in services(running_server.address)


def test_metrics_port_minus_one_serves_no_metrics_endpoint(
    server_settings: Any, start_server: Any
) -> None:
    with start_server(server_settings(metrics_port=-1), load_models=False) as running:
        assert running.server.metrics_port is None
