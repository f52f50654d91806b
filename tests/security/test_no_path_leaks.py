"""What clients are told about a refused model names no file of the server's disk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests import onnx_models
from vaeserve.server.security.redact import without_paths
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

CALL_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def tampered_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose only model has a decoder changed after export (hash mismatch)."""
    root = tmp_path_factory.mktemp("tampered")
    version = onnx_models.write_model(root, onnx_models.TinySpec("tampered", 1, (1, 8, 8), 2))
    with (version / "decoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    return root


@pytest.fixture(scope="module")
def tampered_stub(
    server_settings: Any, start_server: Any, tampered_repository: Path
) -> Iterator[vae_service_pb2_grpc.VaeServiceStub]:
    with (
        start_server(server_settings(model_repository=tampered_repository)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        yield vae_service_pb2_grpc.VaeServiceStub(channel)


def test_not_found_for_a_refused_model_names_no_server_path(
    tampered_stub: Any, tampered_repository: Path
) -> None:
    request = pb.SampleRequest(model_name="tampered", count=1)
    with pytest.raises(grpc.RpcError) as caught:
        tampered_stub.Sample(request, timeout=CALL_TIMEOUT)
    message = str(caught.value.details())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "tampered/1/decoder.onnx" in message
    assert str(tampered_repository) not in message


def test_list_models_reasons_name_no_server_path(
    tampered_stub: Any, tampered_repository: Path
) -> None:
    reply = tampered_stub.ListModels(pb.ListModelsRequest(), timeout=CALL_TIMEOUT)
    (status,) = reply.models
    assert "SHA-256" in status.reason
    assert str(tampered_repository) not in status.reason


def test_the_log_keeps_the_full_path_for_the_operator(
    server_settings: Any, start_server: Any, tampered_repository: Path, caplog: Any
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        start_server(server_settings(model_repository=tampered_repository), load_models=False),
    ):
        pass
    assert str(tampered_repository) in caplog.text


def test_paths_outside_the_repository_are_cut_to_their_file_name() -> None:
    text = "Load model from /var/lib/other/encoder.onnx failed"
    assert without_paths(text, Path("/srv/models")) == "Load model from encoder.onnx failed"


def test_relative_names_and_urls_are_left_alone() -> None:
    text = "folder 'latest' in a/b is not 1/2; see https://example.invalid/x/y"
    assert without_paths(text, Path("/srv/models")) == text
