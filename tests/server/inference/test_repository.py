"""The model repository: bad versions are refused with their reason; the good ones serve."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.tensor_messages import random_latents, tensor
from vaeserve.server.inference.repository import scan_repository
from vaeserve.v1 import vae_service_pb2 as pb


def reasons(root: Path) -> dict[str, str]:
    return {entry.name: entry.reason for entry in scan_repository(root)}


def test_a_changed_graph_file_is_refused_for_its_hash(mixed_repository) -> None:
    assert "SHA-256" in reasons(mixed_repository)["tampered"]


def test_a_version_folder_that_is_not_a_number_is_refused(mixed_repository) -> None:
    assert "'latest' is not a positive integer" in reasons(mixed_repository)["odd"]


def test_a_manifest_naming_another_model_is_refused(mixed_repository) -> None:
    assert "manifest says 'other'" in reasons(mixed_repository)["misnamed"]


def test_an_intact_version_passes(mixed_repository) -> None:
    assert reasons(mixed_repository)["tiny-grey"] == ""


def test_list_models_shows_the_refused_versions_with_reasons(mixed_stub) -> None:
    models = {m.name: m for m in mixed_stub.ListModels(pb.ListModelsRequest()).models}
    assert models["tampered"].state == pb.MODEL_STATE_FAILED
    assert "re-export the model or restore the file" in models["tampered"].reason
    assert models["tiny-grey"].state == pb.MODEL_STATE_READY


def test_a_tampered_model_is_refused_while_the_others_serve(mixed_stub) -> None:
    latents = tensor(random_latents(1))
    with pytest.raises(grpc.RpcError) as refused:
        mixed_stub.Decode(pb.DecodeRequest(model_name="tampered", latents=latents))
    served = mixed_stub.Decode(pb.DecodeRequest(model_name="tiny-grey", latents=latents))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no version that passed its checks" in str(refused.value.details())
    assert served.images.tensor.shape == [1, 1, 8, 8]


def test_health_of_a_refused_model_is_not_serving(
    server_settings, start_server, mixed_repository
) -> None:
    with (
        start_server(server_settings(model_repository=mixed_repository)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        stub = health_pb2_grpc.HealthStub(channel)
        status = stub.Check(health_pb2.HealthCheckRequest(service="tampered")).status
        overall = stub.Check(health_pb2.HealthCheckRequest(service="vaeserve.v1.VaeService")).status
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert overall == health_pb2.HealthCheckResponse.SERVING


def test_graphs_that_disagree_with_their_manifest_are_refused(mixed_stub) -> None:
    models = {m.name: m for m in mixed_stub.ListModels(pb.ListModelsRequest()).models}
    assert models["reshaped"].state == pb.MODEL_STATE_FAILED
    assert "Got: 4 Expected: 8" in models["reshaped"].reason


def test_hidden_and_private_folders_are_not_versions(tmp_path: Path) -> None:
    from tests import onnx_models

    onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    onnx_models.write_model(tmp_path / "tiny-grey" / ".staging-2", onnx_models.GREY_V2)
    (tmp_path / "tiny-grey" / "_trash").mkdir()
    entries = scan_repository(tmp_path)
    assert [(e.name, e.version, e.ok) for e in entries] == [("tiny-grey", 1, True)]


def test_the_hash_cache_reads_a_changed_file_again(tmp_path: Path) -> None:
    from tests import onnx_models
    from vaeserve.server.inference.repository import HashCache

    folder = onnx_models.write_model(tmp_path, onnx_models.GREY_V1)
    cache = HashCache()
    assert scan_repository(tmp_path, cache)[0].ok
    with (folder / "decoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    refused = scan_repository(tmp_path, cache)[0]
    assert not refused.ok
    assert "SHA-256" in refused.reason


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", ".hidden", "", "a\\b", "x" * 200])
def test_a_name_that_is_not_one_plain_folder_is_not_a_model_name(name: str) -> None:
    from vaeserve.server.inference.repository import is_model_name

    assert not is_model_name(name)


def test_names_of_the_embedded_models_are_model_names() -> None:
    from vaeserve.server.inference.repository import is_model_name
    from vaeserve.server.settings import embedded_repository

    names = [p.name for p in embedded_repository().iterdir() if p.is_dir() and p.name[0] != "_"]
    assert names
    assert all(is_model_name(name) for name in names)
