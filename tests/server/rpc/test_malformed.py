"""Request bytes that are not the RPC's message: INVALID_ARGUMENT with a reason, never UNKNOWN."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client.parser import text_string_to_metric_families

from vaeserve.v1 import vae_service_pb2 as pb

ENCODE = "/vaeserve.v1.VaeService/Encode"
NOT_A_MESSAGE = b"\xff\xff\xff\xff"  # a tag whose varint never ends
NAME_NOT_UTF8 = b"\x0a\x02\xff\xfe"  # field 1 (model_name, a string) holding invalid UTF-8


def raw_call(channel: grpc.Channel, method: str, body: bytes) -> grpc.RpcError:
    """Send ``body`` as the request bytes of ``method``, no serializer in the way."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        call(body, timeout=30)
    return caught.value


@pytest.mark.parametrize("body", [NOT_A_MESSAGE, NAME_NOT_UTF8], ids=["garbage", "not-utf8"])
def test_bytes_that_do_not_parse_are_invalid_argument_naming_the_method(channel, body) -> None:
    error = raw_call(channel, ENCODE, body)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = str(error.details())
    assert ENCODE in details
    assert "not a valid serialized request message" in details


def test_the_health_check_refuses_bytes_that_do_not_parse_too(channel) -> None:
    error = raw_call(channel, "/grpc.health.v1.Health/Check", NOT_A_MESSAGE)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_health_watch_refuses_bytes_that_do_not_parse(channel) -> None:
    watch = channel.unary_stream(
        "/grpc.health.v1.Health/Watch", request_serializer=None, response_deserializer=None
    )
    with pytest.raises(grpc.RpcError) as caught:
        next(iter(watch(NOT_A_MESSAGE, timeout=30)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_parseable_request_passes_the_guard_untouched(channel, health_stub) -> None:
    raw_call(channel, ENCODE, NOT_A_MESSAGE)
    call = channel.unary_unary(
        "/vaeserve.v1.VaeService/ListModels",
        request_serializer=pb.ListModelsRequest.SerializeToString,
        response_deserializer=pb.ListModelsResponse.FromString,
    )
    assert {m.name for m in call(pb.ListModelsRequest(), timeout=30).models} >= {"tiny-grey"}
    reply = health_stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def refusals_counted(metrics_port: int) -> float:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    wanted = {"method": "Encode", "model": "unknown", "code": "INVALID_ARGUMENT"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "vaeserve_requests_total" and wanted.items() <= sample.labels.items():
                return float(sample.value)
    return 0.0


def test_a_refused_request_is_counted_with_the_model_unknown(running_server, channel) -> None:
    before = refusals_counted(running_server.metrics_port)
    raw_call(channel, ENCODE, NOT_A_MESSAGE)
    assert refusals_counted(running_server.metrics_port) == before + 1
