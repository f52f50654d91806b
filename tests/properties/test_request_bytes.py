"""Request bytes that are not the RPC's message (garbage, strings where numbers belong, another
message type, a message past the size limit) are refused, or read as a valid request."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.properties import bad_inputs as bad
from tests.properties import probe
from vaeserve.v1 import vae_service_pb2 as pb

METHODS = [
    "Encode",
    "Decode",
    "Sample",
    "Interpolate",
    "Reconstruct",
    "ListModels",
    "GetModelInfo",
]
PATHS = [probe.SERVICE + method for method in METHODS]
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


@pytest.fixture(scope="module")
def bad_input_probe(bad_input_server) -> Iterator[probe.Probe]:
    """gRPC only: these are protobuf wire bytes (HTTP bodies: test_http_bodies.py)."""
    with grpc.insecure_channel(bad_input_server.address) as channel:
        yield probe.Probe(channel)


@given(st.sampled_from(PATHS), bad.request_bytes())
def test_any_request_bytes_are_answered_or_refused_never_unknown(
    bad_input_probe, path, body
) -> None:
    bad_input_probe.answer_raw(path, body)


# Field 1 is a string in all of these. (The health service answers a service name it does
# not know with NOT_FOUND and no message: grpcio-health-checking's behaviour, not ours.)
NAMING = [path for path in PATHS if not path.endswith("/ListModels")] + [HEALTH_CHECK]


@given(st.sampled_from(NAMING), st.binary(max_size=64))
def test_a_string_field_that_is_not_utf8_is_invalid(bad_input_probe, path, tail) -> None:
    code, details = bad_input_probe.answer_raw(path, b"\x0a\x02\xff\xfe" + tail)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert path in details


def latents(n: int, dim: int) -> pb.Tensor:
    return pb.Tensor(shape=[n, dim], data=bytes(4 * n * dim))


NUMBERED = [  # a well-formed request, and the tag of its count or steps field (uint32)
    ("Sample", pb.SampleRequest(model_name="fashion-mnist"), b"\x18"),
    ("Interpolate", pb.InterpolateRequest(model_name="faces", latents=latents(2, 16)), b"\x28"),
]


@given(st.sampled_from(NUMBERED), st.integers(-(2**31), -1))
def test_a_negative_count_or_steps_on_the_wire_is_refused(bad_input_probe, target, value) -> None:
    """A client's negative int32 in a uint32 field is read as 2**31 or more: far too many.
    (A negative 64-bit varint keeps only its low 32 bits, which may be a fine count.)"""
    method, request, tag = target
    body = request.SerializeToString() + tag + bad.varint(value)
    code, _ = bad_input_probe.answer_raw(probe.SERVICE + method, body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.sampled_from(NUMBERED), st.sampled_from([b"twelve", b"-3", b"1e9", b"\x00"]))
def test_a_string_where_a_count_or_steps_belongs_is_refused(bad_input_probe, target, text) -> None:
    method, request, tag = target
    string_tag = bytes([tag[0] | 2])  # the same field number, wire type 2 (length-delimited)
    body = request.SerializeToString() + string_tag + bad.varint(len(text)) + text
    code, _ = bad_input_probe.answer_raw(probe.SERVICE + method, body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@settings(max_examples=3)
@given(st.sampled_from(PATHS), st.integers(1, 1 << 20))
def test_a_message_past_the_size_limit_is_resource_exhausted(bad_input_probe, path, extra) -> None:
    info = bad_input_probe.stub.GetModelInfo(pb.GetModelInfoRequest(model_name="faces"))
    code, _ = bad_input_probe.answer_raw(path, bytes(info.max_request_bytes + extra))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
