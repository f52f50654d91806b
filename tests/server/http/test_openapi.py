"""The OpenAPI document: valid OpenAPI 3, in step with the proto and the routes, served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.http_calls import base_url, call
from vaeserve.server.http import openapi
from vaeserve.server.http.routes import RPC_ROUTES
from vaeserve.v1 import vae_service_pb2 as pb

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "server" / "http" / "openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED.read_text())
    return loaded


def test_the_committed_document_is_what_the_proto_and_the_routes_give() -> None:
    generated = openapi.render(openapi.generate(openapi.compile_proto(ROOT / "proto")))
    assert COMMITTED.read_text() == generated, (
        "server/http/openapi.json is stale: run `python -m vaeserve.server.http.openapi`"
    )


def test_the_document_is_valid_openapi_3(document) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3 schema and rules


def test_every_rpc_has_a_route(document) -> None:
    service = pb.DESCRIPTOR.services_by_name["VaeService"]
    documented = {
        operation["x-grpc-method"]
        for path in document["paths"].values()
        for operation in path.values()
        if "x-grpc-method" in operation
    }
    assert documented == {f"/{service.full_name}/{method.name}" for method in service.methods}


def test_every_field_of_every_message_has_its_schema(document) -> None:
    schemas = document["components"]["schemas"]
    for message in pb.DESCRIPTOR.message_types_by_name.values():
        properties = schemas[message.name]["properties"]
        assert set(properties) == {field.json_name for field in message.fields}, message.name
    for enum in pb.DESCRIPTOR.enum_types_by_name.values():
        assert schemas[enum.name]["enum"] == [value.name for value in enum.values]


def test_every_documented_rpc_route_is_served(running_server, document) -> None:
    url = base_url(running_server)
    for route in RPC_ROUTES:
        path = route.path.format(model_name="tiny-grey", model_version="1")
        answer = call(f"{url}{path}", route.http_method, b"{}" if route.has_body else None)
        assert route.http_method.lower() in document["paths"][route.path]
        # served: either a reply or the dataplane's refusal of an empty request, not the router's
        assert answer.status in (200, 400), (route, answer.status, answer.body[:200])


def test_the_server_serves_the_committed_document(running_server) -> None:
    answer = call(f"{base_url(running_server)}/openapi.json")
    assert answer.status == 200
    assert answer.body == COMMITTED.read_bytes()
