"""Standard health: liveness at once, readiness only once the models are warm."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def check(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return int(stub.Check(health_pb2.HealthCheckRequest(service=service)).status)


def test_service_and_models_report_serving_once_loaded(health_stub) -> None:
    statuses = [check(health_stub, s) for s in ("", "vaeserve.v1.VaeService", "tiny-grey")]
    assert statuses == [SERVING, SERVING, SERVING]


def test_readiness_moves_from_not_serving_to_serving(server_settings, start_server) -> None:
    names = ("", "vaeserve.v1.VaeService", "tiny-rgb")
    with (
        start_server(server_settings(), load_models=False) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        stub = health_pb2_grpc.HealthStub(channel)
        before = [check(stub, s) for s in names]
        running.call(running.server.load_models())
        after = [check(stub, s) for s in names]
    assert before == [SERVING, NOT_SERVING, NOT_SERVING]
    assert after == [SERVING, SERVING, SERVING]


def test_draining_turns_every_status_not_serving(server_settings, start_server) -> None:
    names = ("", "vaeserve.v1.VaeService", "tiny-grey")
    with (
        start_server(server_settings()) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        running.call(running.server.health.drain())
        statuses = [check(health_pb2_grpc.HealthStub(channel), s) for s in names]
    assert statuses == [NOT_SERVING] * 3


def test_reflection_lists_the_service(channel) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (reply,) = list(stub.ServerReflectionInfo(iter([request])))
    names = {s.name for s in reply.list_services_response.service}
    assert {"vaeserve.v1.VaeService", "grpc.health.v1.Health"} <= names


def test_watch_streams_the_move_to_serving(server_settings, start_server) -> None:
    with (
        start_server(server_settings(), load_models=False) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        request = health_pb2.HealthCheckRequest(service="vaeserve.v1.VaeService")
        stream = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=10)
        first = next(stream).status
        running.call(running.server.load_models())
        second = next(stream).status
        stream.cancel()
    assert (first, second) == (NOT_SERVING, SERVING)


def test_watch_ends_after_telling_a_draining_server_is_not_serving(
    server_settings, start_server
) -> None:
    """An open Watch must not hold shutdown for the whole grace period."""
    with (
        start_server(server_settings()) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        stub = health_pb2_grpc.HealthStub(channel)
        known = stub.Watch(health_pb2.HealthCheckRequest(service="tiny-grey"), timeout=10)
        unknown = stub.Watch(health_pb2.HealthCheckRequest(service="no-such-model"), timeout=10)
        first = (next(known).status, next(unknown).status)
        running.call(running.server.health.drain())
        known_rest = [reply.status for reply in known]
        unknown_rest = [reply.status for reply in unknown]
    assert first == (SERVING, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
    assert known_rest == [NOT_SERVING]
    assert unknown_rest == []
