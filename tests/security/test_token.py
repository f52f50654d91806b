"""The bearer token: required on every call but health, checked before any work."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.security.pki import (
    CALL_TIMEOUT,
    TOKEN,
    bearer,
    insecure_channel,
    list_models,
    status_of_call,
)
from vaeserve.cli import build_parser
from vaeserve.server.cli import build_settings
from vaeserve.server.errors import SecurityConfigError
from vaeserve.server.security.credentials import read_token
from vaeserve.server.settings import Settings
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc


def refusal(address: str, metadata: Any) -> tuple[grpc.StatusCode, str]:
    with insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as caught:
        list_models(channel, metadata)
    return caught.value.code(), str(caught.value.details())


def test_a_call_without_a_token_is_unauthenticated_and_says_what_to_send(
    token_server: Any,
) -> None:
    code, message = refusal(token_server.address, None)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer <token>" in message


def test_a_wrong_token_is_unauthenticated(token_server: Any) -> None:
    code, message = refusal(token_server.address, bearer("not-" + TOKEN))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "not accepted" in message


def test_a_token_under_another_scheme_is_unauthenticated(token_server: Any) -> None:
    code, message = refusal(token_server.address, (("authorization", f"Basic {TOKEN}"),))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "Bearer <token>" in message


def test_the_right_token_is_served(token_server: Any) -> None:
    with insecure_channel(token_server.address) as channel:
        assert status_of_call(channel, bearer()) == grpc.StatusCode.OK


def test_an_unauthenticated_request_is_refused_before_it_is_validated(token_server: Any) -> None:
    """A request that would be INVALID_ARGUMENT gets UNAUTHENTICATED: nothing is parsed."""
    with insecure_channel(token_server.address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=0), timeout=CALL_TIMEOUT)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_answers_without_a_token(token_server: Any) -> None:
    """Kubelet and load-balancer probes carry no token."""
    with insecure_channel(token_server.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service="tiny-grey"), timeout=CALL_TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_token_may_come_from_the_environment(
    server_settings: Any, start_server: Any, tiny_repository: Path
) -> None:
    args = build_parser().parse_args(["serve", "--model-repository", str(tiny_repository)])
    from_env = build_settings(args, {"VAESERVE_AUTH_TOKEN": TOKEN})
    settings = server_settings(auth_token=from_env.auth_token)
    with start_server(settings, load_models=False) as running:
        assert refusal(running.address, None)[0] == grpc.StatusCode.UNAUTHENTICATED
        with insecure_channel(running.address) as channel:
            assert status_of_call(channel, bearer()) == grpc.StatusCode.OK


def test_the_token_file_may_end_in_a_newline(token_file: Path) -> None:
    assert read_token(Settings(auth_token_file=token_file)) == TOKEN


def test_an_empty_token_file_is_refused_at_start_up(tmp_path: Path) -> None:
    empty = tmp_path / "token"
    empty.write_text("\n")
    with pytest.raises(SecurityConfigError, match="holds no token"):
        read_token(Settings(auth_token_file=empty))


def test_a_token_with_spaces_is_refused_at_start_up() -> None:
    with pytest.raises(SecurityConfigError, match="printable ASCII without spaces"):
        read_token(Settings(auth_token="two words"))


def test_the_token_is_kept_out_of_the_settings_repr() -> None:
    assert TOKEN not in repr(Settings(auth_token=TOKEN))


def test_a_token_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="give the bearer token once"):
        Settings(auth_token=TOKEN, auth_token_file=Path("/run/secrets/token"))


def test_refused_calls_are_counted_as_unauthenticated(token_server: Any) -> None:
    def refused() -> float:
        url = f"http://127.0.0.1:{token_server.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=CALL_TIMEOUT) as response:
            text = response.read().decode()
        labels = {
            "method": "ListModels",
            "model": "unknown",
            "code": "UNAUTHENTICATED",
            "protocol": "grpc",
        }
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "vaeserve_requests_total" and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    before = refused()
    refusal(token_server.address, None)
    assert refused() == before + 1
