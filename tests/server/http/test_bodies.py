"""JSON bodies: the reply fast path writes exactly what json_format would, byte for byte."""

from __future__ import annotations

import json

import numpy as np
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from tests.tensor_messages import tensor
from vaeserve.server.errors import InvalidArgumentError
from vaeserve.server.http import bodies
from vaeserve.server.http.bodies import LARGE_TENSOR_BYTES
from vaeserve.v1 import vae_service_pb2 as pb


def by_json_format(message: Message) -> bytes:
    mapping = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    return json.dumps(mapping, separators=(",", ":")).encode()


def floats(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


@pytest.mark.parametrize(
    "message",
    [
        pb.DecodeResponse(model_name="m", images=pb.Images(tensor=tensor(floats(256)))),
        pb.DecodeResponse(model_name="m", images=pb.Images(tensor=tensor(floats(1)))),
        pb.InterpolateResponse(
            model_name="m",
            latents=tensor(floats(3, seed=1).reshape(3, -1)),
            images=pb.Images(tensor=tensor(floats(3, seed=2))),
        ),
        pb.SampleResponse(
            model_name="m", seed=2**64 - 1, images=pb.Images(png=pb.PngImages(images=[b"\x89PNG"]))
        ),
        pb.EncodeResponse(model_name="m", mean=pb.Tensor(shape=[0, 2], data=b"")),
    ],
    ids=["large", "small", "two-large", "png-list", "empty"],
)
def test_the_fast_reply_is_byte_for_byte_json_formats(message: Message) -> None:
    assert bodies.to_json(message) == by_json_format(message)


def test_the_fast_path_leaves_the_reply_untouched() -> None:
    message = pb.DecodeResponse(images=pb.Images(tensor=tensor(floats(8))))
    before = message.SerializeToString()
    bodies.to_json(message)
    assert message.SerializeToString() == before
    assert len(message.images.tensor.data) >= LARGE_TENSOR_BYTES


def test_parse_fills_the_message_from_the_proto3_json_mapping() -> None:
    body = b'{"modelName": "m", "count": 3, "seed": "18446744073709551615", "temperature": 0.5}'
    parsed = bodies.parse(body, pb.SampleRequest())
    assert (parsed.model_name, parsed.count, parsed.seed) == ("m", 3, 2**64 - 1)


def test_parse_accepts_the_original_field_names_too() -> None:
    assert bodies.parse(b'{"model_name": "m"}', pb.SampleRequest()).model_name == "m"


def test_parse_refuses_a_duplicate_key() -> None:
    with pytest.raises(InvalidArgumentError, match="duplicate key"):
        bodies.parse(b'{"count": 1, "count": 2}', pb.SampleRequest())


def test_the_body_limit_fits_the_grpc_limit_in_base64() -> None:
    assert bodies.body_limit(3 << 20) >= 4 << 20
