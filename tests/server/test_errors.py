"""Every status code a client can meet, with a message that says what to fix."""

from __future__ import annotations

import struct
import zlib

import grpc
import numpy as np
import pytest

from tests.tensor_messages import images, random_images, random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc


def status_of(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value.code(), str(caught.value.details())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk declaring ``width`` x ``height``, and no pixels."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def decode(latents: pb.Tensor, name: str = "tiny-grey", version: int = 0) -> pb.DecodeRequest:
    return pb.DecodeRequest(model_name=name, model_version=version, latents=latents)


def test_unknown_model_is_not_found_and_lists_the_known_ones(stub) -> None:
    code, message = status_of(stub.Decode, decode(tensor(random_latents(1)), name="nope"))
    assert code == grpc.StatusCode.NOT_FOUND
    assert "'nope'" in message and "tiny-grey" in message


def test_unknown_version_is_not_found(stub) -> None:
    code, message = status_of(stub.Decode, decode(tensor(random_latents(1)), version=9))
    assert code == grpc.StatusCode.NOT_FOUND
    assert "no version 9" in message


def test_missing_model_name_is_invalid(stub) -> None:
    code, message = status_of(stub.GetModelInfo, pb.GetModelInfoRequest())
    assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT, "model_name is required")


def test_latents_of_the_wrong_width_are_invalid(stub) -> None:
    code, message = status_of(stub.Decode, decode(tensor(random_latents(2, dim=3))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "[N, 2]" in message


def test_tensor_bytes_that_disagree_with_the_shape_are_invalid(stub) -> None:
    short = pb.Tensor(shape=[2, 2], data=b"\0" * 12)
    code, message = status_of(stub.Decode, decode(short))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "needs 16 bytes" in message


def test_nan_latents_are_invalid(stub) -> None:
    code, message = status_of(stub.Decode, decode(tensor(np.array([[0.0, np.nan]]))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "NaN" in message


def test_pixels_outside_the_unit_range_are_invalid(stub) -> None:
    request = pb.EncodeRequest(model_name="tiny-grey", images=images(random_images(1) + 1.5))
    code, message = status_of(stub.Encode, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "[0, 1]" in message


def test_a_request_without_images_is_invalid(stub) -> None:
    code, message = status_of(stub.Encode, pb.EncodeRequest(model_name="tiny-grey"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "images is required" in message


def test_sample_count_zero_is_invalid(stub) -> None:
    code, message = status_of(stub.Sample, pb.SampleRequest(model_name="tiny-grey"))
    assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT, "count must be at least 1")


@pytest.mark.parametrize("temperature", [-0.5, 11.0, float("nan")])
def test_sample_temperature_out_of_range_is_invalid(stub, temperature: float) -> None:
    request = pb.SampleRequest(model_name="tiny-grey", count=1, temperature=temperature)
    code, message = status_of(stub.Sample, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "temperature" in message


def test_interpolate_with_one_step_is_invalid(stub) -> None:
    request = pb.InterpolateRequest(
        model_name="tiny-grey", latents=tensor(random_latents(2)), steps=1
    )
    code, message = status_of(stub.Interpolate, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "steps" in message


def test_interpolate_with_three_endpoints_is_invalid(stub) -> None:
    request = pb.InterpolateRequest(
        model_name="tiny-grey", latents=tensor(random_latents(3)), steps=4
    )
    code, message = status_of(stub.Interpolate, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "exactly 2" in message


def test_a_file_that_is_not_png_is_invalid(stub) -> None:
    files = pb.Images(png=pb.PngImages(images=[b"GIF89a not a png at all"]))
    code, message = status_of(stub.Encode, pb.EncodeRequest(model_name="tiny-grey", images=files))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "images.png[0] is not a PNG" in message


def test_a_png_of_the_wrong_size_is_invalid(stub) -> None:
    files = pb.Images(png=pb.PngImages(images=[png_header_only(9, 8)]))
    code, message = status_of(stub.Encode, pb.EncodeRequest(model_name="tiny-grey", images=files))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "9x8" in message and "8x8" in message


def test_a_png_declaring_a_huge_image_is_refused_before_decoding(stub) -> None:
    files = pb.Images(png=pb.PngImages(images=[png_header_only(100_000, 100_000)]))
    code, message = status_of(stub.Encode, pb.EncodeRequest(model_name="tiny-grey", images=files))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "over the limit" in message


def test_a_png_past_the_byte_limit_is_invalid(limited_stub) -> None:
    files = pb.Images(png=pb.PngImages(images=[png_header_only(8, 8) + b"\0" * 5000]))
    request = pb.EncodeRequest(model_name="tiny-grey", images=files)
    code, message = status_of(limited_stub.Encode, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "the limit is 4096" in message


def test_too_many_items_is_an_invalid_argument_not_worth_retrying(limited_stub) -> None:
    code, message = status_of(limited_stub.Decode, decode(tensor(random_latents(9))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 8 per request" in message


def test_sample_count_past_the_limit_is_invalid(limited_stub) -> None:
    request = pb.SampleRequest(model_name="tiny-grey", count=9)
    code, message = status_of(limited_stub.Sample, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "split it" in message


def test_a_message_past_the_size_limit_is_exhausted(limited_stub) -> None:
    huge = pb.Tensor(shape=[8, 2], data=b"\0" * (8 << 20))
    code, _ = status_of(limited_stub.Decode, decode(huge))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_deadline_passing_in_the_queue_is_deadline_exceeded(held_server) -> None:
    with grpc.insecure_channel(held_server.address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Decode(decode(tensor(random_latents(1))), timeout=0.05)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_work_past_its_deadline_is_dropped_and_counted(held_server) -> None:
    registry = held_server.server.metrics.registry
    labels = {"model": "tiny-grey/2", "graph": "decoder", "reason": "deadline_exceeded"}
    with grpc.insecure_channel(held_server.address) as channel:
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        stub.Decode(decode(tensor(random_latents(1))))  # lets earlier held work settle
        before = registry.get_sample_value("vaeserve_dropped_items_total", labels) or 0.0
        with pytest.raises(grpc.RpcError):
            stub.Decode(decode(tensor(random_latents(3))), timeout=0.05)
        stub.Decode(decode(tensor(random_latents(1))))  # waits out the same hold
    assert registry.get_sample_value("vaeserve_dropped_items_total", labels) - before == 3


def test_a_failing_batch_is_internal_with_a_fixed_message(mixed_stub) -> None:
    code, message = status_of(mixed_stub.Decode, decode(tensor(random_latents(3)), name="fragile"))
    assert code == grpc.StatusCode.INTERNAL
    assert message == "internal server error; the server log has the details"


def test_the_server_keeps_serving_after_a_failing_batch(mixed_stub) -> None:
    with pytest.raises(grpc.RpcError):
        mixed_stub.Decode(decode(tensor(random_latents(3)), name="fragile"))
    reply = mixed_stub.Decode(decode(tensor(random_latents(1)), name="fragile"))
    assert reply.images.tensor.shape == [1, 1, 8, 8]


def test_a_model_still_loading_is_unavailable(server_settings, start_server) -> None:
    with (
        start_server(server_settings(), load_models=False) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        stub = vae_service_pb2_grpc.VaeServiceStub(channel)
        code, message = status_of(stub.Decode, decode(tensor(random_latents(1))))
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "no version ready" in message


@pytest.mark.parametrize(
    "name", ["a" * 20_000, "\u00e9\u20ac\U0001f600" * 5_000], ids=["ascii", "utf8"]
)
def test_a_huge_unknown_name_is_not_found_with_a_short_message(stub, name: str) -> None:
    # Echoed in full, the name overflowed the client's trailer limit: RESOURCE_EXHAUSTED.
    code, message = status_of(stub.GetModelInfo, pb.GetModelInfoRequest(model_name=name))
    assert code == grpc.StatusCode.NOT_FOUND
    assert len(message) < 400
    assert "tiny-grey" in message


def test_a_shape_of_thousands_of_dimensions_is_invalid_with_a_short_message(stub) -> None:
    code, message = status_of(stub.Decode, decode(pb.Tensor(shape=range(1, 30_000))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(message) < 400
