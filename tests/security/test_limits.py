"""Limits a request meets before the server does any work for it.

Already specified in tests/server/test_errors.py: a message past grpc's receive limit
(RESOURCE_EXHAUSTED), a PNG header declaring a huge image, a PNG past the byte limit, too
many latents, a Sample count past the limit. Here: the cases an attacker would reach for.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.tensor_messages import random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

ITEMS = 4
CALL_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def limited_stub(server_settings: Any, start_server: Any) -> Iterator[Any]:
    """A server taking at most 4 items per request and 64 KiB per PNG."""
    settings = server_settings(max_items_per_request=ITEMS, max_png_bytes=1 << 16)
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        yield vae_service_pb2_grpc.VaeServiceStub(channel)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def decompression_bomb(side: int) -> bytes:
    """A valid 8-bit grey PNG of side x side black pixels: a few KiB that inflate to
    side*side bytes (36 MB for 6000) for whoever decodes it."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def refusal(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=CALL_TIMEOUT)
    return caught.value.code(), str(caught.value.details())


def test_a_decompression_bomb_is_refused_from_its_header(limited_stub: Any) -> None:
    bomb = decompression_bomb(6000)
    assert len(bomb) < 1 << 16  # small enough to pass the byte limit: the header must stop it
    images = pb.Images(png=pb.PngImages(images=[bomb]))
    code, message = refusal(
        limited_stub.Encode, pb.EncodeRequest(model_name="tiny-grey", images=images)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "declares 6000x6000 pixels, over the limit" in message


def test_too_many_pngs_are_refused_before_any_is_read(limited_stub: Any) -> None:
    """Files that are not even PNGs: the count is checked first, so no file is opened."""
    images = pb.Images(png=pb.PngImages(images=[b"junk"] * (ITEMS + 1)))
    code, message = refusal(
        limited_stub.Encode, pb.EncodeRequest(model_name="tiny-grey", images=images)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {ITEMS} per request" in message


def test_interpolate_steps_past_the_item_limit_are_refused(limited_stub: Any) -> None:
    request = pb.InterpolateRequest(
        model_name="tiny-grey", latents=tensor(random_latents(2)), steps=ITEMS + 1
    )
    code, message = refusal(limited_stub.Interpolate, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "steps" in message


def test_a_tensor_claiming_more_items_than_allowed_is_refused(limited_stub: Any) -> None:
    """The shape is checked before the bytes are: a claim alone is enough to refuse."""
    claim = pb.Tensor(shape=[1_000_000, 2], data=b"")
    code, message = refusal(
        limited_stub.Decode, pb.DecodeRequest(model_name="tiny-grey", latents=claim)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"at most {ITEMS} per request" in message
