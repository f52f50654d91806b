"""The OpenAPI 3 document of the HTTP API: generated from the proto, committed, served.

:func:`generate` builds it from ``vae_service.proto``'s descriptor (with the comments, so
every field's description is the proto's): one schema per message and enum in the proto3
JSON mapping, one operation per entry of :data:`~vaeserve.server.http.routes.RPC_ROUTES`,
plus the PNG, probe and page routes. ``python -m vaeserve.server.http.openapi`` (it needs
grpcio-tools, a dev dependency) rewrites ``server/http/openapi.json``; a test fails when the
committed file is not what the proto and the route table give. The server serves the
committed file at ``/openapi.json``, behind the token like gRPC reflection.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web
from google.protobuf import descriptor_pb2

from vaeserve.server.errors import RequestError
from vaeserve.server.http.pictures import DEFAULT_COUNT, SAMPLES_PATHS
from vaeserve.server.http.probes import HEALTHZ, READYZ
from vaeserve.server.http.routes import RPC_ROUTES, VERSION_PATH, RpcRoute, RpcRoutes
from vaeserve.server.http.status import HTTP_STATUSES, refusal

OPENAPI_PATH = "/openapi.json"
DOCUMENT_FILE = "openapi.json"
PROTO_FILE = "vaeserve/v1/vae_service.proto"
JSONObject = dict[str, Any]

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS: Mapping[int, JSONObject] = {
    _F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _F.TYPE_FLOAT: {"type": "number", "format": "float"},
    _F.TYPE_INT64: {"type": "string", "format": "int64"},
    _F.TYPE_SINT64: {"type": "string", "format": "int64"},
    _F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _F.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte"},
}
STATUS_SCHEMA: JSONObject = {
    "type": "object",
    "description": "An error, shaped like google.rpc.Status. The HTTP status follows "
    "Google's mapping of `code`: "
    + ", ".join(f"{code.name} {status}" for code, status in HTTP_STATUSES.items() if code)
    + "; a body over the limit is 413, a body that is not JSON 415.",
    "properties": {
        "code": {"type": "integer", "description": "The google.rpc.Code (gRPC's number)."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "message"],
}
HEALTH_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["SERVING", "NOT_SERVING"]}},
}


class OpenApiRoute:
    """``GET /openapi.json``: the committed document, behind the token when one is set."""

    def __init__(self, rpc_routes: RpcRoutes) -> None:
        self._rpc = rpc_routes
        self._body = committed_bytes()

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(OPENAPI_PATH, self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        try:
            self._rpc.authorize(request)
        except RequestError as error:
            return refusal(error)
        return web.Response(body=self._body, content_type="application/json")


def committed_bytes() -> bytes:
    """The document as committed beside this module (package data)."""
    return (resources.files(__package__ or "vaeserve.server.http") / DOCUMENT_FILE).read_bytes()


def generate(proto: descriptor_pb2.FileDescriptorProto) -> JSONObject:
    """The OpenAPI 3 document of the routes, with the proto's messages as schemas."""
    comments = _comments(proto)
    service = proto.service[0]
    rpc_comments = {
        method.name: comments.get((6, 0, 2, index), "")
        for index, method in enumerate(service.method)
    }
    schemas: JSONObject = {}
    for index, message in enumerate(proto.message_type):
        schemas[message.name] = _message_schema(message, (4, index), comments)
    for index, enum in enumerate(proto.enum_type):
        schemas[enum.name] = {
            "type": "string",
            "enum": [value.name for value in enum.value],
            "description": _describe(enum.value, (5, index), comments),
        }
    schemas["Status"] = STATUS_SCHEMA
    schemas["HealthStatus"] = HEALTH_SCHEMA
    paths: JSONObject = {}
    for route in RPC_ROUTES:
        operation = _rpc_operation(route, f"{proto.package}.{service.name}", rpc_comments)
        paths.setdefault(route.path, {})[route.http_method.lower()] = operation
    paths.update(_other_paths())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "vaeserve HTTP/JSON API",
            "version": proto.package.rpartition(".")[2],
            "description": comments.get((), "").strip()
            or "vaeserve.v1.VaeService over HTTP, in the proto3 JSON mapping.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _comments(proto: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    found = {}
    for location in proto.source_code_info.location:
        text = location.leading_comments.strip()
        if text:
            found[tuple(location.path)] = "\n".join(line.strip() for line in text.splitlines())
    # The file's own leading comment sits on the `syntax` statement (path 12).
    for location in proto.source_code_info.location:
        if tuple(location.path) == (12,):
            text = location.leading_comments or "".join(location.leading_detached_comments)
            found[()] = "\n".join(line.strip() for line in text.strip().splitlines())
    return found


def _message_schema(
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    comments: Mapping[tuple[int, ...], str],
) -> JSONObject:
    properties = {}
    for index, field in enumerate(message.field):
        field_schema = _field_schema(field)
        description = comments.get((*path, 2, index))
        if description and "$ref" in field_schema:  # OpenAPI 3.0 ignores a $ref's siblings
            field_schema = {"allOf": [field_schema], "description": description}
        elif description:
            field_schema["description"] = description
        properties[field.json_name] = field_schema
    schema: JSONObject = {"type": "object", "properties": properties}
    if comments.get(path):
        schema["description"] = comments[path]
    return schema


def _field_schema(field: descriptor_pb2.FieldDescriptorProto) -> JSONObject:
    if field.type in (_F.TYPE_MESSAGE, _F.TYPE_ENUM):
        item: JSONObject = {"$ref": "#/components/schemas/" + field.type_name.rpartition(".")[2]}
    else:
        item = dict(_SCALARS[field.type])
    if field.label == _F.LABEL_REPEATED:
        return {"type": "array", "items": item}
    return item


def _describe(values: Any, path: tuple[int, ...], comments: Mapping[tuple[int, ...], str]) -> str:
    lines = [comments.get(path, "")]
    for index, value in enumerate(values):
        lines.append(f"{value.name}: {comments.get((*path, 2, index), '')}")
    return " ".join(line for line in lines if line)


def _rpc_operation(route: RpcRoute, service: str, rpc_comments: Mapping[str, str]) -> JSONObject:
    request, reply = route.request_type.DESCRIPTOR.name, route.reply_type.DESCRIPTOR.name
    versioned = route.path.startswith(VERSION_PATH)
    operation: JSONObject = {
        "operationId": route.rpc + ("AtVersion" if versioned else ""),
        "summary": rpc_comments.get(route.rpc, route.rpc),
        "tags": [service],
        "x-grpc-method": f"/{service}/{route.rpc}",
        "parameters": _parameters(route.path)
        + [
            _query(name, {"type": "integer", "minimum": 0}, "Version; 0 or absent: the highest.")
            for name in route.query
        ],
        "responses": {
            "200": _json_response(reply, f"{reply} in the proto3 JSON mapping."),
            "default": _json_response("Status", "The request failed; `message` says why."),
        },
        "security": [{"bearer": []}, {}],
    }
    if not operation["parameters"]:
        del operation["parameters"]
    if route.has_body:
        operation["requestBody"] = {
            "description": f"{request} in the proto3 JSON mapping; the path sets the model "
            "name and version (the body may leave them out). An empty body is the empty "
            "message.",
            "required": False,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    return operation


def _other_paths() -> JSONObject:
    paths: JSONObject = {}
    for path in SAMPLES_PATHS:
        versioned = path.startswith(VERSION_PATH)
        paths[path] = {
            "get": {
                "operationId": "SamplesPng" + ("AtVersion" if versioned else ""),
                "summary": "Sample, as ONE PNG: a grid of `count` samples, for <img> tags.",
                "tags": ["pictures"],
                "parameters": [
                    *_parameters(path),
                    _query(
                        "count",
                        {"type": "integer", "minimum": 1, "default": DEFAULT_COUNT},
                        "How many samples.",
                    ),
                    _query(
                        "seed",
                        {"type": "string", "format": "uint64"},
                        "Seed; absent: the server picks one (see the Vaeserve-Seed header).",
                    ),
                    _query(
                        "temperature",
                        {"type": "number", "minimum": 0, "maximum": 10},
                        "Standard deviation of the prior; absent: 1.",
                    ),
                    _query(
                        "columns",
                        {"type": "integer", "minimum": 1},
                        "Images per row; absent: a square-ish grid.",
                    ),
                    *(
                        []
                        if versioned
                        else [
                            _query(
                                "version",
                                {"type": "integer", "minimum": 0},
                                "Version; 0 or absent: the highest.",
                            )
                        ]
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The grid, one pixel of white between images.",
                        "headers": {
                            "Vaeserve-Seed": {
                                "schema": {"type": "string"},
                                "description": "The seed used.",
                            }
                        },
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "default": _json_response("Status", "The request failed."),
                },
                "security": [{"bearer": []}, {}],
            }
        }
    probe = {
        "200": _json_response("HealthStatus", "Serving."),
        "503": _json_response("HealthStatus", "Not serving (starting or draining)."),
    }
    paths[HEALTHZ] = {
        "get": {
            "operationId": "Healthz",
            "tags": ["probes"],
            "summary": "Liveness: the process serves.",
            "responses": probe,
        }
    }
    readyz = {**probe, "404": _json_response("Status", "No such model.")}
    paths[READYZ] = {
        "get": {
            "operationId": "Readyz",
            "tags": ["probes"],
            "summary": "Readiness: models loaded and warm, and not draining.",
            "parameters": [_query("model", {"type": "string"}, "One model's readiness.")],
            "responses": readyz,
        }
    }
    paths[OPENAPI_PATH] = {
        "get": {
            "operationId": "OpenApi",
            "tags": ["meta"],
            "summary": "This document.",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
            "security": [{"bearer": []}, {}],
        }
    }
    paths["/"] = {
        "get": {
            "operationId": "ExplorerPage",
            "tags": ["meta"],
            "summary": "The latent-space explorer page; its other files are under /.",
            "responses": {
                "200": {
                    "description": "HTML.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    return paths


def _parameters(path: str) -> list[JSONObject]:
    found = []
    if "{model_name}" in path:
        found.append(
            {
                "name": "model_name",
                "in": "path",
                "required": True,
                "description": "The model, as ListModels names it.",
                "schema": {"type": "string"},
            }
        )
    if "{model_version}" in path:
        found.append(
            {
                "name": "model_version",
                "in": "path",
                "required": True,
                "description": "The version; 0 means the highest served.",
                "schema": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
            }
        )
    return found


def _query(name: str, schema: JSONObject, description: str) -> JSONObject:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _ref(name: str) -> JSONObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(schema: str, description: str) -> JSONObject:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def compile_proto(proto_root: Path) -> descriptor_pb2.FileDescriptorProto:
    """The proto's descriptor with its comments, compiled by grpcio-tools (dev only)."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "descriptor.pb"
        status = protoc.main(
            [
                "protoc",
                f"-I{proto_root}",
                "--include_source_info",
                f"--descriptor_set_out={out}",
                PROTO_FILE,
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed on {proto_root / PROTO_FILE}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return files.file[0]


def render(document: JSONObject) -> str:
    """The committed text: stable key order, two-space indent, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the HTTP API's OpenAPI document.")
    parser.add_argument("--proto-root", type=Path, default=Path("proto"))
    parser.add_argument("--out", type=Path, default=Path("server/http") / DOCUMENT_FILE)
    args = parser.parse_args(argv)
    args.out.write_text(render(generate(compile_proto(args.proto_root))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
