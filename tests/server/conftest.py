"""Fixtures of the server tests: servers with tight limits and a repository with bad models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests import onnx_models
from vaeserve.manifest import ImageShape, read_manifest, write_manifest
from vaeserve.v1 import vae_service_pb2_grpc

LIMITED_ITEMS = 8
LIMITED_QUEUE = 8


@pytest.fixture(scope="module")
def limited_stub(server_settings, start_server) -> Iterator[vae_service_pb2_grpc.VaeServiceStub]:
    """A stub on a server that takes at most 8 items per request and queues at most 8."""
    settings = server_settings(
        max_items_per_request=LIMITED_ITEMS, max_queue_size=LIMITED_QUEUE, max_png_bytes=4096
    )
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        yield vae_service_pb2_grpc.VaeServiceStub(channel)


@pytest.fixture(scope="module")
def held_server(server_settings, start_server) -> Iterator[Any]:
    """A server whose batches wait 300 ms to fill, so short deadlines pass in the queue."""
    with start_server(server_settings(max_queue_delay_ms=300.0)) as running:
        yield running


@pytest.fixture(scope="module")
def mixed_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository where one model is good and every other way to be refused appears once:
    a changed graph file ("tampered"), a version folder that is not a number ("odd"), a
    manifest naming another model ("misnamed"), graphs whose output shape is not the
    manifest's ("reshaped"); plus "fragile", which loads but fails on
    batches bigger than one."""
    root = tmp_path_factory.mktemp("mixed")
    onnx_models.write_model(root, onnx_models.GREY_V1)
    tampered = onnx_models.write_model(root, onnx_models.TinySpec("tampered", 1, (1, 8, 8), 2))
    with (tampered / "decoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    odd = onnx_models.write_model(root, onnx_models.TinySpec("odd", 1, (1, 8, 8), 2))
    odd.rename(odd.parent / "latest")
    misnamed = onnx_models.write_model(root, onnx_models.TinySpec("other", 1, (1, 8, 8), 2))
    misnamed.parent.rename(root / "misnamed")
    onnx_models.write_model(
        root, onnx_models.TinySpec("fragile", 1, (1, 8, 8), 2, batch_one_only=True)
    )
    reshaped = onnx_models.write_model(root, onnx_models.TinySpec("reshaped", 1, (1, 8, 8), 2))
    manifest = read_manifest(reshaped)
    write_manifest(reshaped, replace(manifest, image_shape=ImageShape(1, 4, 16)))
    return root


@pytest.fixture(scope="module")
def mixed_stub(
    server_settings, start_server, mixed_repository
) -> Iterator[vae_service_pb2_grpc.VaeServiceStub]:
    """A stub on a server over ``mixed_repository``."""
    with (
        start_server(server_settings(model_repository=mixed_repository)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        yield vae_service_pb2_grpc.VaeServiceStub(channel)
