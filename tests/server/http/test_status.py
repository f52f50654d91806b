"""Errors over HTTP: Google's status for each code, a google.rpc.Status body, never a 500."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.http_calls import Answer, base_url, call, post_message
from tests.tensor_messages import tensor
from vaeserve.server.errors import Code
from vaeserve.server.http.status import HTTP_STATUSES, http_status
from vaeserve.v1 import vae_service_pb2 as pb


@pytest.fixture(scope="module")
def url(running_server) -> str:
    return base_url(running_server)


def assert_status_body(answer: Answer, status: int, code: Code) -> str:
    """The answer has ``status`` and a google.rpc.Status body with ``code``; its message."""
    assert answer.status == status, (answer.status, answer.body[:400])
    assert answer.content_type == "application/json"
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code.value and body["details"] == []
    assert len(body["message"]) >= 10
    return str(body["message"])


def test_every_code_has_googles_http_status() -> None:
    assert set(HTTP_STATUSES) == set(Code)
    expected = {
        Code.INVALID_ARGUMENT: 400, Code.NOT_FOUND: 404, Code.RESOURCE_EXHAUSTED: 429,
        Code.UNAVAILABLE: 503, Code.DEADLINE_EXCEEDED: 504, Code.CANCELLED: 499,
        Code.UNAUTHENTICATED: 401, Code.INTERNAL: 500, Code.PERMISSION_DENIED: 403,
        Code.UNIMPLEMENTED: 501, Code.FAILED_PRECONDITION: 400, Code.OK: 200,
    }  # fmt: skip
    assert {code: http_status(code) for code in expected} == expected


def test_an_invalid_argument_is_400_with_the_dataplane_message(url) -> None:
    answer = post_message(f"{url}/v1/models/tiny-grey:sample", pb.SampleRequest(count=0))
    assert "count must be at least 1" in assert_status_body(answer, 400, Code.INVALID_ARGUMENT)


def test_an_unknown_model_is_404(url) -> None:
    answer = call(f"{url}/v1/models/no-such-model")
    assert "no model named" in assert_status_body(answer, 404, Code.NOT_FOUND)


def test_a_version_that_is_not_a_number_is_400(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey/versions/two")
    assert "version must be a whole number" in assert_status_body(
        answer, 400, Code.INVALID_ARGUMENT
    )


def test_malformed_json_is_400_naming_the_message(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:decode", "POST", b'{"latents": ')
    message = assert_status_body(answer, 400, Code.INVALID_ARGUMENT)
    assert "not a JSON DecodeRequest" in message


def test_an_unknown_field_is_400_naming_it(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:sample", "POST", b'{"cuont": 3}')
    assert "cuont" in assert_status_body(answer, 400, Code.INVALID_ARGUMENT)


def test_a_body_that_is_not_utf8_is_400(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:sample", "POST", b'{"count": "\xff"}')
    assert "not UTF-8" in assert_status_body(answer, 400, Code.INVALID_ARGUMENT)


def test_a_body_that_is_not_json_is_415(url) -> None:
    answer = call(
        f"{url}/v1/models/tiny-grey:sample", "POST", b"count=3", content_type="text/plain"
    )
    assert "Content-Type: application/json" in assert_status_body(
        answer, 415, Code.INVALID_ARGUMENT
    )


def test_an_unknown_route_is_404(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:frobnicate", "POST", b"{}")
    assert "no route POST" in assert_status_body(answer, 404, Code.NOT_FOUND)


def test_a_wrong_method_is_405_with_the_allowed_ones(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:decode")
    assert "GET is not allowed" in assert_status_body(answer, 405, Code.UNIMPLEMENTED)
    assert answer.headers["Allow"] == "POST"


def test_a_body_over_the_limit_is_413_before_it_is_parsed(server_settings, start_server) -> None:
    settings = server_settings(max_items_per_request=1, metrics_port=-1)
    with start_server(settings, load_models=False) as running:
        limit = running.server.http.body_limit
        body = b'{"latents": {"data": "' + b"A" * limit + b'"}}'
        answer = call(f"{base_url(running)}/v1/models/tiny-grey:decode", "POST", body)
    assert "at most" in assert_status_body(answer, 413, Code.RESOURCE_EXHAUSTED)


def test_a_chunked_body_over_the_limit_is_413(server_settings, start_server) -> None:
    settings = server_settings(max_items_per_request=1, metrics_port=-1)
    with start_server(settings, load_models=False) as running:
        limit = running.server.http.body_limit
        chunks = iter([b'{"latents": {"data": "', b"A" * limit, b'"}}'])
        answer = call(
            f"{base_url(running)}/v1/models/tiny-grey:decode",
            "POST",
            chunks,  # type: ignore[arg-type]
            headers={"Transfer-Encoding": "chunked"},
        )
    assert_status_body(answer, 413, Code.RESOURCE_EXHAUSTED)


def test_a_full_queue_is_429(server_settings, start_server) -> None:
    # One request of 4 items waits 2 s to be batched; the queue holds 4, so the next is shed.
    settings = server_settings(max_queue_size=4, max_items_per_request=4, max_queue_delay_ms=2000)
    latents = np.zeros((4, 2), "<f4")
    request = pb.DecodeRequest(latents=tensor(latents))
    with start_server(settings) as running:
        url = f"{base_url(running)}/v1/models/tiny-grey:decode"
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: post_message(url, request), range(2)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200, 429]
    assert_status_body(max(answers, key=lambda a: a.status), 429, Code.RESOURCE_EXHAUSTED)


def test_a_draining_server_answers_503(server_settings, start_server) -> None:
    with start_server(server_settings(metrics_port=-1)) as running:
        running.server.handlers.stop_accepting()
        answer = call(f"{base_url(running)}/v1/models")
    assert "shutting down" in assert_status_body(answer, 503, Code.UNAVAILABLE)


def test_a_reply_body_is_always_json_for_errors_of_the_framework(url) -> None:
    answer = call(f"{url}/v1/models", "POST", json.dumps({}).encode())
    assert answer.content_type == "application/json"
    assert answer.status == 405


def test_a_request_line_over_8_kib_is_400_and_logs_no_traceback(url, caplog) -> None:
    with caplog.at_level("INFO"):
        answer = call(f"{url}/v1/models/{'x' * 9000}")
    assert answer.status == 400
    assert not [r for r in caplog.records if r.exc_info], caplog.text
