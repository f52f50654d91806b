"""JSON bodies to protobuf messages and back: the proto3 JSON mapping, nothing of our own.

A request body is parsed with protobuf's :mod:`~google.protobuf.json_format` into the RPC's
own request message, with the model name and version taken from the path; a reply is the
message's JSON mapping with every field present (lowerCamelCase names, enums by name,
bytes as base64, 64-bit integers as strings). So the HTTP API is the gRPC contract: a field
added to the proto appears here without a line of code.

Before parsing, the body must be JSON (``application/json`` or a ``+json`` type; an empty
body is the empty message, so ``curl -X POST`` needs no body for ListModels-like calls) and
within the limit, the gRPC receive limit scaled for base64 (see :func:`body_limit`).
"""

from __future__ import annotations

import json
import math
from typing import TypeVar

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from vaeserve.server.errors import (
    InvalidArgumentError,
    RequestTooLargeError,
    UnsupportedMediaError,
    shown,
)

M = TypeVar("M", bound=Message)
JSON_TYPE = "application/json"
MAX_PARSE_ERROR_CHARS = 300
BASE64_ENVELOPE_BYTES = 64 << 10  # field names, quotes and whitespace around the payload


def body_limit(grpc_receive_limit: int) -> int:
    """The largest HTTP body taken: what the largest gRPC message allowed becomes in JSON,
    where bytes fields travel as base64 (4 characters per 3 bytes)."""
    return math.ceil(grpc_receive_limit * 4 / 3) + BASE64_ENVELOPE_BYTES


async def read_json(request: web.Request, limit: int) -> bytes:
    """The request body, checked to be JSON and within ``limit`` bytes before it is read."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.content_length, limit)
    if request.body_exists and not _is_json(request.content_type):
        raise UnsupportedMediaError(
            f"send the request as JSON (Content-Type: {JSON_TYPE}), "
            f"not {shown(request.content_type)}"
        )
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as error:  # chunked bodies have no length up front
        raise _too_large(None, limit) from error


def parse(body: bytes, message: M) -> M:
    """Merge a JSON body into ``message``; an empty body leaves it empty."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgumentError(f"the body is not UTF-8 text: {error}") from error
    if not text.strip():
        return message
    try:
        json_format.Parse(text, message)
    except json_format.ParseError as error:
        name = message.DESCRIPTOR.name
        raise InvalidArgumentError(
            f"the body is not a JSON {name} (proto3 JSON mapping): {_cut(str(error))}"
        ) from error
    return message


def reply(message: Message) -> web.Response:
    """``message`` as its proto3 JSON mapping, every field present."""
    mapping = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    body = json.dumps(mapping, separators=(",", ":"), allow_nan=False)
    return web.Response(body=body.encode(), content_type=JSON_TYPE)


def _is_json(content_type: str) -> bool:
    return content_type == JSON_TYPE or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _too_large(size: int | None, limit: int) -> RequestTooLargeError:
    told = f"{size} bytes" if size is not None else "too many bytes"
    return RequestTooLargeError(
        f"the body has {told}; this server takes at most {limit} bytes per request "
        "(GetModelInfo's maxRequestBytes, in base64): split it into several requests"
    )


def _cut(text: str) -> str:
    text = text.encode("ascii", "backslashreplace").decode()
    if len(text) <= MAX_PARSE_ERROR_CHARS:
        return text
    return f"{text[:MAX_PARSE_ERROR_CHARS]}... ({len(text)} characters)"
