"""Send a bad request, check the answer is a status a client can act on, check the server
still works, and count what came back (the session summary prints the counts).

:class:`Probe` speaks gRPC through the generated stubs; :class:`HttpProbe` sends the same
request messages over the HTTP front (their proto3 JSON on each RPC's route), so every
property holds for both. Every OK reply is checked too (:mod:`tests.properties.replies`):
shapes, finite values, pixels in [0, 1], PNGs that open.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from typing import Any

import grpc
import numpy as np
from google.protobuf import json_format

from tests.http_calls import Answer, call
from tests.properties.replies import REPLIES, REQUESTS, assert_valid_reply, replies_checked
from vaeserve.server.errors import INTERNAL_MESSAGE, Code
from vaeserve.server.http.status import HTTP_STATUSES
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
TIMEOUT_S = 120.0  # two contended cores: generous, never a timing assertion
HEALTHY_MODEL = "fashion-mnist-2d"
SERVICE = "/vaeserve.v1.VaeService/"
GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}
VERBS = {"Encode", "Decode", "Sample", "Interpolate", "Reconstruct"}
MAX_URL_BYTES = 8000  # aiohttp reads request lines up to 8190 bytes

requests_sent: Counter[str] = Counter()
"""Status code name -> bad requests that got it, over the whole session."""


class Probe:
    """Calls one server through the generated stubs, or with raw bytes."""

    protocol = "grpc"

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.stub = vae_service_pb2_grpc.VaeServiceStub(channel)

    def can_carry(self, name: str) -> bool:
        """Whether a request can name ``name`` at all (any name fits a gRPC message)."""
        return True

    def refused(self, method: str, request: Any) -> tuple[grpc.StatusCode, str]:
        """``request`` is bad: the answer must be a refusal, never OK."""
        code, details = self.answer(method, request)
        assert code != grpc.StatusCode.OK, f"{method} accepted a bad request: {request!r:.400}"
        return code, details

    def answer(self, method: str, request: Any) -> tuple[grpc.StatusCode, str]:
        """A valid OK reply, or a refusal with a useful message; then a well-formed request
        must succeed."""
        call = getattr(self.stub, method)
        return self._checked(method, lambda: (request, call(request, timeout=TIMEOUT_S)))

    def answer_raw(self, path: str, body: bytes) -> tuple[grpc.StatusCode, str]:
        """Like :meth:`answer`, sending ``body`` as the request bytes of the full ``path``."""
        call = self.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        method = path.rsplit("/", 1)[-1] if path.startswith(SERVICE) else path

        def send() -> tuple[Any, Any]:
            answer = call(body, timeout=TIMEOUT_S)
            if method not in REPLIES:
                return None, answer
            # Accepted, so the server read ``body`` as this method's request: read it too.
            return REQUESTS[method].FromString(body), REPLIES[method].FromString(answer)

        return self._checked(method, send)

    def _checked(self, method: str, send: Any) -> tuple[grpc.StatusCode, str]:
        """``send()`` returns the request and its reply, or raises the call's error."""
        try:
            request, reply = send()
        except grpc.RpcError as error:
            code, details = error.code(), str(error.details() or "")
            assert_refusal(method, code, details)
        else:
            code, details = grpc.StatusCode.OK, ""
            assert_valid_reply(method, request, reply)
        requests_sent[f"{self.protocol} {code.name}"] += 1
        self.still_serving()
        return code, details

    def still_serving(self) -> None:
        """The next well-formed request succeeds: the bad one left nothing broken."""
        latents = np.zeros((1, 2), "<f4")
        reply = self.stub.Decode(
            pb.DecodeRequest(
                model_name=HEALTHY_MODEL,
                latents=pb.Tensor(shape=latents.shape, data=latents.tobytes()),
            ),
            timeout=TIMEOUT_S,
        )
        assert list(reply.images.tensor.shape) == [1, 1, 28, 28]


class HttpProbe(Probe):
    """The same requests over HTTP/JSON: each message's JSON on its RPC's route."""

    protocol = "http"

    def __init__(self, url: str, channel: grpc.Channel) -> None:
        super().__init__(channel)
        self.url = url

    def can_carry(self, name: str) -> bool:
        """The name travels in the URL path, whose request line aiohttp caps at 8 KiB."""
        return len(self.url + route_of("Decode", name, 2**32 - 1)) < MAX_URL_BYTES

    def answer(self, method: str, request: Any) -> tuple[grpc.StatusCode, str]:
        name = getattr(request, "model_name", "")
        path = route_of(method, name, getattr(request, "model_version", 0))
        if method in VERBS:
            body = json_format.MessageToJson(request).encode()
            return self.answer_http(path, "POST", body, request=request)
        return self.answer_http(path, "GET", None, request=request)

    def answer_raw(self, path: str, body: bytes) -> tuple[grpc.StatusCode, str]:
        raise AssertionError("raw protobuf bytes are gRPC's; HTTP bodies have their own tests")

    def answer_http(
        self,
        path: str,
        method: str = "POST",
        body: bytes | None = None,
        *,
        content_type: str | None = "application/json",
        request: Any = None,
    ) -> tuple[grpc.StatusCode, str]:
        """Send one HTTP request; a refusal must be a google.rpc.Status a client can act on."""
        answer = call(self.url + path, method, body, content_type=content_type)
        code, details = status_of(path, answer)
        rpc = rpc_of(path)
        if code == grpc.StatusCode.OK and rpc is not None:
            reply = json_format.Parse(answer.body, REPLIES[rpc]())
            if request is None:  # accepted, so the server read ``body`` as this request
                request = json_format.Parse(
                    body or b"{}", REQUESTS[rpc](), ignore_unknown_fields=True
                )
            assert_valid_reply(rpc, request, reply)
        requests_sent[f"{self.protocol} {code.name}"] += 1
        self.still_serving()
        return code, details

    def still_serving(self) -> None:
        body = b'{"latents": {"shape": [1, 2], "data": "AAAAAAAAAAA="}}'
        answer = call(f"{self.url}/v1/models/{HEALTHY_MODEL}:decode", "POST", body)
        assert answer.status == 200, answer.body[:400]
        assert answer.json()["images"]["tensor"]["shape"] == ["1", "1", "28", "28"]


def route_of(method: str, name: str, version: int) -> str:
    """The HTTP path of ``method`` for a model name and version (0: none in the path)."""
    if method == "ListModels":
        return "/v1/models"
    path = "/v1/models/" + urllib.parse.quote(name, safe="")
    if version:
        path += f"/versions/{version}"
    return path if method == "GetModelInfo" else f"{path}:{method.lower()}"


def rpc_of(path: str) -> str | None:
    """The RPC a route serves: ``/v1/models/x:decode`` -> ``Decode``; None for others."""
    route = path.split("?", 1)[0]
    if route == "/v1/models":
        return "ListModels"
    if ":" in route.rsplit("/", 1)[-1]:
        verb = route.rsplit(":", 1)[-1].capitalize()
        return verb if verb in VERBS else None
    return (
        "GetModelInfo" if route.startswith("/v1/models/") and route.count("/") in (3, 5) else None
    )


def status_of(what: str, answer: Answer) -> tuple[grpc.StatusCode, str]:
    """The gRPC code an HTTP answer carries, checked: JSON body, Google's status, no 500."""
    if answer.status == 200:
        return grpc.StatusCode.OK, ""
    assert answer.content_type == "application/json", (what, answer.status, answer.body[:200])
    body = json.loads(answer.body)
    assert set(body) == {"code", "message", "details"}, body
    code, details = GRPC_CODES[body["code"]], body["message"]
    statuses = {HTTP_STATUSES[_code_enum(code)]} | ({413} if body["code"] == 8 else set())
    statuses |= {415} if body["code"] == 3 else set()
    assert answer.status in statuses, (what, answer.status, code)
    assert_refusal(what, code, details)
    return code, details


def _code_enum(code: grpc.StatusCode) -> Code:
    return Code(code.value[0])


def assert_refusal(method: str, code: grpc.StatusCode, details: str) -> None:
    """A client's mistake, said so: one of the four refusal codes and a sentence to act on."""
    assert code in REFUSALS, f"{method} answered {code.name}: {details!r:.400}"
    assert len(details.strip()) >= 10, f"{method} {code.name} says too little: {details!r}"
    assert details != INTERNAL_MESSAGE
    assert not details.startswith("Unexpected"), details


def summary() -> str:
    total = sum(requests_sent.values())
    codes = ", ".join(f"{name} {n}" for name, n in requests_sent.most_common())
    checked = sum(replies_checked.values())
    return f"inputs tried: {total} requests ({codes}); {checked} OK replies with tensors checked"
