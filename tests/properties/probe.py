"""Send a request, check the answer: a refusal a client can act on, or an OK reply that is
valid (:mod:`tests.properties.replies`); check the server still works, and count what came
back (the session summary prints the counts)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import grpc
import numpy as np

from tests.properties.replies import REPLIES, REQUESTS, assert_valid_reply, replies_checked
from vaeserve.server.rpc.status import INTERNAL_MESSAGE
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

requests_sent: Counter[str] = Counter()
"""Status code name -> bad requests that got it, over the whole session."""


class Probe:
    """Calls one server through the generated stubs, or with raw bytes."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.stub = vae_service_pb2_grpc.VaeServiceStub(channel)

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
        requests_sent[code.name] += 1
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
