"""Plain HTTP calls for the tests of the HTTP/JSON front: urllib, nothing of the server's.

:func:`call` returns an :class:`Answer` for any status (errors included), so a test can
assert on the status, the headers and the body alike; :func:`rpc` posts a protobuf
message in the proto3 JSON mapping and parses the reply back into its message.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

TIMEOUT_S = 60.0
M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0]


def base_url(running: Any) -> str:
    """``http://127.0.0.1:<port>`` of a RunningServer's HTTP front."""
    return f"http://127.0.0.1:{running.server.http_port}"


def call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """One request; the answer whatever its status."""
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None and content_type is not None:
        request.add_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as reply:
            return Answer(reply.status, dict(reply.headers), reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, dict(error.headers), error.read())


def post_message(url: str, message: Message, **kwargs: Any) -> Answer:
    """POST ``message`` as its proto3 JSON mapping."""
    return call(url, "POST", json_format.MessageToJson(message).encode(), **kwargs)


def parse_reply(answer: Answer, message_type: type[M]) -> M:
    """The reply as its protobuf message; fails the test on a non-200 status."""
    assert answer.status == 200, (answer.status, answer.body[:400])
    return json_format.Parse(answer.body, message_type())
