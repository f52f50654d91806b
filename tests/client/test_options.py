"""Channel options that reach the wire: dns:/// with round_robin, and the bearer token."""

from __future__ import annotations

import json
from concurrent import futures

import grpc

from vaeserve.client import Client, ClientOptions
from vaeserve.client.options import service_config
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc


def test_dns_target_with_round_robin_reaches_the_server(address: str) -> None:
    port = address.rsplit(":", 1)[1]
    with Client(f"dns:///127.0.0.1:{port}") as client:
        assert client.list_models()
    assert json.loads(service_config(client.options))["loadBalancingConfig"] == [
        {"round_robin": {}}
    ]


def test_retry_policy_covers_only_transient_codes() -> None:
    config = json.loads(service_config(ClientOptions(max_attempts=3)))
    policy = config["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "CANCELLED"]
    assert policy["maxAttempts"] == 3


class MetadataRecorder(pb_grpc.VaeServiceServicer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        self.seen.extend((k, str(v)) for k, v in context.invocation_metadata())
        return pb.ListModelsResponse()


def test_bearer_token_travels_as_authorization_metadata() -> None:
    recorder = MetadataRecorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    pb_grpc.add_VaeServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client(f"127.0.0.1:{port}", options=ClientOptions(token="s3cret")) as client:
            assert client.list_models() == []
    finally:
        server.stop(None)
    assert ("authorization", "Bearer s3cret") in recorder.seen


def test_a_single_attempt_turns_retries_off(address: str) -> None:
    options = ClientOptions(max_attempts=1)
    assert "retryPolicy" not in service_config(options)
    with Client(address, options=options) as client:
        assert client.list_models()
