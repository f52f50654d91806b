"""Every RPC over HTTP/JSON on a real server: the reply is the gRPC reply, field for field."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.http_calls import base_url, call, parse_reply, post_message
from tests.tensor_messages import random_images, random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb


@pytest.fixture(scope="module")
def url(running_server) -> str:
    return base_url(running_server)


def test_list_models_equals_the_grpc_reply(url, stub) -> None:
    answer = call(f"{url}/v1/models")
    assert parse_reply(answer, pb.ListModelsResponse) == stub.ListModels(pb.ListModelsRequest())


def test_get_model_info_equals_the_grpc_reply(url, stub) -> None:
    answer = call(f"{url}/v1/models/tiny-rgb")
    expected = stub.GetModelInfo(pb.GetModelInfoRequest(model_name="tiny-rgb"))
    assert parse_reply(answer, pb.GetModelInfoResponse) == expected


def test_get_model_info_takes_the_version_from_the_path_or_the_query(url) -> None:
    by_path = parse_reply(call(f"{url}/v1/models/tiny-grey/versions/1"), pb.GetModelInfoResponse)
    by_query = parse_reply(call(f"{url}/v1/models/tiny-grey?version=1"), pb.GetModelInfoResponse)
    latest = parse_reply(call(f"{url}/v1/models/tiny-grey"), pb.GetModelInfoResponse)
    assert (by_path.version, by_query.version, latest.version) == (1, 1, 2)


def test_decode_equals_the_grpc_reply(url, stub) -> None:
    request = pb.DecodeRequest(latents=tensor(random_latents(3, 4)))
    answer = post_message(f"{url}/v1/models/tiny-rgb:decode", request)
    request.model_name = "tiny-rgb"
    assert parse_reply(answer, pb.DecodeResponse) == stub.Decode(request)


def test_decode_at_a_version_in_the_path_uses_that_version(url) -> None:
    request = pb.DecodeRequest(latents=tensor(random_latents(1, 2)))
    answer = post_message(f"{url}/v1/models/tiny-grey/versions/1:decode", request)
    assert parse_reply(answer, pb.DecodeResponse).model_version == 1


def test_sample_equals_the_grpc_reply_for_a_seed(url, stub) -> None:
    request = pb.SampleRequest(count=4, seed=7, temperature=0.5, image_format=pb.IMAGE_FORMAT_PNG)
    answer = post_message(f"{url}/v1/models/tiny-grey:sample", request)
    request.model_name = "tiny-grey"
    assert parse_reply(answer, pb.SampleResponse) == stub.Sample(request)


def test_encode_equals_the_grpc_reply(url, stub) -> None:
    images = pb.Images(tensor=tensor(random_images(2, (1, 8, 8))))
    request = pb.EncodeRequest(images=images, sample=True, seed=3)
    answer = post_message(f"{url}/v1/models/tiny-grey:encode", request)
    request.model_name = "tiny-grey"
    assert parse_reply(answer, pb.EncodeResponse) == stub.Encode(request)


def test_interpolate_equals_the_grpc_reply(url, stub) -> None:
    request = pb.InterpolateRequest(
        latents=tensor(random_latents(2, 2)),
        steps=5,
        method=pb.INTERPOLATION_METHOD_SPHERICAL,
    )
    answer = post_message(f"{url}/v1/models/tiny-grey:interpolate", request)
    request.model_name = "tiny-grey"
    assert parse_reply(answer, pb.InterpolateResponse) == stub.Interpolate(request)


def test_reconstruct_equals_the_grpc_reply(url, stub) -> None:
    images = pb.Images(tensor=tensor(random_images(2, (3, 8, 8))))
    request = pb.ReconstructRequest(images=images, image_format=pb.IMAGE_FORMAT_PNG)
    answer = post_message(f"{url}/v1/models/tiny-rgb:reconstruct", request)
    request.model_name = "tiny-rgb"
    assert parse_reply(answer, pb.ReconstructResponse) == stub.Reconstruct(request)


def test_replies_use_the_proto3_json_mapping(url) -> None:
    body = json.dumps({"count": 2, "seed": "5"}).encode()
    reply = call(f"{url}/v1/models/tiny-grey:sample", "POST", body).json()
    assert reply["modelName"] == "tiny-grey"  # lowerCamelCase
    assert reply["seed"] == "5"  # 64-bit integers as strings
    assert reply["latents"]["shape"] == ["2", "2"]
    pixels = np.frombuffer(base64.b64decode(reply["images"]["tensor"]["data"]), "<f4")
    assert pixels.size == 2 * 8 * 8 and np.all((pixels >= 0) & (pixels <= 1))


def test_a_body_may_name_the_same_model_as_the_path(url) -> None:
    request = pb.SampleRequest(model_name="tiny-grey", count=1, seed=1)
    assert post_message(f"{url}/v1/models/tiny-grey:sample", request).status == 200


def test_a_body_naming_another_model_than_the_path_is_refused(url) -> None:
    request = pb.SampleRequest(model_name="tiny-rgb", count=1)
    answer = post_message(f"{url}/v1/models/tiny-grey:sample", request)
    assert answer.status == 400
    assert "the path names model name 'tiny-grey'" in answer.json()["message"]


def test_an_empty_body_is_the_empty_message(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey:sample", "POST", b"", content_type=None)
    assert answer.status == 400
    assert "count must be at least 1" in answer.json()["message"]


def test_an_unknown_query_parameter_is_refused_by_name(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey?verison=1")
    assert answer.status == 400
    assert "unknown query parameter 'verison'" in answer.json()["message"]
