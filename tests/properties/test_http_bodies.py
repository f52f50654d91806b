"""What only HTTP can get wrong: bodies that are not the request's JSON, wrong JSON types,
huge numbers, base64 that is not, bodies over the limit or not JSON, routes that do not
exist. Each is refused with a google.rpc.Status a client can act on, never a 500, and the
server keeps serving (the probe decodes after each)."""

from __future__ import annotations

import json
import urllib.parse

import grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.http_calls import call
from tests.properties import bad_inputs as bad
from tests.properties import probe

BODY_METHODS = ["Encode", "Decode", "Sample", "Interpolate", "Reconstruct"]
# A leaf of a JSON document, and documents of them: anything a client might send.
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=32)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)
FIELD_NAMES = st.sampled_from(
    ["modelName", "modelVersion", "count", "seed", "temperature", "imageFormat", "latents",
     "images", "steps", "method", "sample", "model_name", "image_format", "png", "tensor"]
)  # fmt: skip


def route(method: str, model: str) -> str:
    return probe.route_of(method, model, 0)


@given(bad.models, st.sampled_from(BODY_METHODS), JSON_VALUES)
def test_any_json_document_is_answered_or_refused(bad_input_http, model, method, value) -> None:
    body = json.dumps(value).encode()
    bad_input_http.answer_http(route(method, model.name), "POST", body)


@given(
    bad.models, st.sampled_from(BODY_METHODS), st.dictionaries(FIELD_NAMES, JSON_VALUES, min_size=1)
)
def test_fields_of_any_type_are_answered_or_refused(bad_input_http, model, method, fields) -> None:
    bad_input_http.answer_http(route(method, model.name), "POST", json.dumps(fields).encode())


WRONG_COUNTS: st.SearchStrategy[object] = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=2**32),
    st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
    st.sampled_from(["many", "", "1e99", "0x10", [], {}, True, None, "NaN"]),
)


@given(bad.models, WRONG_COUNTS)
def test_a_count_of_the_wrong_type_or_size_is_invalid(bad_input_http, model, count) -> None:
    body = json.dumps({"count": count}).encode()
    code, _ = bad_input_http.answer_http(route("Sample", model.name), "POST", body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@settings(max_examples=10)
@given(bad.models, st.integers(5000, 20000))
def test_a_number_of_thousands_of_digits_is_invalid(bad_input_http, model, digits) -> None:
    body = b'{"count": 1, "seed": ' + b"9" * digits + b"}"
    code, _ = bad_input_http.answer_http(route("Sample", model.name), "POST", body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(bad.models, st.text(min_size=1, max_size=64).filter(lambda t: t.strip("A=") != ""))
def test_tensor_data_that_is_not_base64_of_the_shape_is_answered_or_refused(
    bad_input_http, model, data
) -> None:
    body = json.dumps({"latents": {"shape": [1, model.latent_dim], "data": data}}).encode()
    bad_input_http.answer_http(route("Decode", model.name), "POST", body)


@given(bad.models, st.sampled_from(["[", "{", '{"count": 1', '"', "nul", "{}{}", "\ufeff{}"]))
def test_malformed_json_is_invalid(bad_input_http, model, text) -> None:
    code, _ = bad_input_http.answer_http(route("Sample", model.name), "POST", text.encode())
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@settings(max_examples=5)
@given(bad.models, st.integers(1, 1 << 16))
def test_nesting_deeper_than_any_message_is_invalid(bad_input_http, model, depth) -> None:
    body = b'{"latents": ' + b"[" * depth + b"]" * depth + b"}"
    code, _ = bad_input_http.answer_http(route("Decode", model.name), "POST", body)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(
    bad.models,
    st.sampled_from(BODY_METHODS),
    st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                     "application/jsonx", "application/octet-stream", "image/png"]),
)  # fmt: skip
def test_a_body_that_is_not_json_is_415(bad_input_http, model, method, content_type) -> None:
    answer = call(
        bad_input_http.url + route(method, model.name), "POST", b"{}", content_type=content_type
    )
    assert answer.status == 415
    code, _ = probe.status_of(method, answer)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    bad_input_http.still_serving()


@settings(max_examples=3)
@given(bad.models, st.integers(1, 1 << 20))
def test_a_body_over_the_limit_is_413(bad_input_http, bad_input_server, model, extra) -> None:
    limit = bad_input_server.server.http.body_limit
    body = b'{"latents": {"data": "' + b"A" * (limit + extra) + b'"}}'
    answer = call(bad_input_http.url + route("Decode", model.name), "POST", body)
    assert answer.status == 413
    assert probe.status_of("Decode", answer)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    bad_input_http.still_serving()


@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    st.lists(st.text(min_size=1, max_size=16), min_size=1, max_size=4),
)
def test_any_route_gets_a_status_body_never_a_500(bad_input_http, method, segments) -> None:
    path = "/v1/" + "/".join(urllib.parse.quote(s, safe=":") for s in segments)
    answer = call(bad_input_http.url + path, method, b"{}" if method != "GET" else None)
    assert answer.status < 500, (path, answer.status, answer.body[:200])
    if answer.status != 200:
        body = answer.json()
        assert set(body) == {"code", "message", "details"} and len(body["message"]) >= 10
    bad_input_http.still_serving()
