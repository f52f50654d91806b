"""Export writes contract 1 exactly: two self-contained, checked, faithful graphs and a manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from vaeserve.export import VersionExistsError, export_checkpoint, export_untrained
from vaeserve.export.errors import ParityError
from vaeserve.export.parity import check_parity
from vaeserve.manifest import IntegrityError, Manifest, read_manifest, verify_files
from vaeserve.training.checkpoint import load_checkpoint
from vaeserve.training.datasets import DataOptions, load_dataset
from vaeserve.training.evaluate import negative_elbo


def session(path: Path) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_version_folder_holds_exactly_the_three_files(exported) -> None:
    folder, _ = exported
    assert sorted(p.name for p in folder.iterdir()) == [
        "decoder.onnx",
        "encoder.onnx",
        "manifest.json",
    ]


@pytest.mark.parametrize("batch", [1, 5, 300])
def test_encoder_maps_images_to_mean_and_log_var(exported, batch: int) -> None:
    folder, manifest = exported
    encoder = session(folder / "encoder.onnx")
    assert [i.name for i in encoder.get_inputs()] == ["x"]
    assert [o.name for o in encoder.get_outputs()] == ["mean", "log_var"]
    x = np.random.default_rng(0).random((batch, 1, 8, 8), dtype=np.float32)
    mean, log_var = encoder.run(None, {"x": x})
    assert mean.shape == log_var.shape == (batch, manifest.latent_dim)
    assert mean.dtype == np.float32


@pytest.mark.parametrize("batch", [1, 300])
def test_decoder_maps_latents_to_images_in_the_unit_interval(exported, batch: int) -> None:
    folder, _ = exported
    decoder = session(folder / "decoder.onnx")
    assert [i.name for i in decoder.get_inputs()] == ["z"]
    z = np.random.default_rng(1).standard_normal((batch, 4)).astype(np.float32) * 10
    (images,) = decoder.run(["x"], {"z": z})
    assert images.shape == (batch, 1, 8, 8)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_graphs_are_checked_self_contained_and_lean(exported) -> None:
    folder, manifest = exported
    for name in ("encoder.onnx", "decoder.onnx"):
        model = onnx.load(str(folder / name), load_external_data=False)
        onnx.checker.check_model(model, full_check=True)
        assert not any(
            onnx.external_data_helper.uses_external_data(t) for t in model.graph.initializer
        )
        ops = {node.op_type for node in model.graph.node}
        assert ops <= {"Gemm", "Relu", "Reshape", "Sigmoid", "Flatten"}
        assert manifest.producer.onnx_opset == model.opset_import[0].version >= 18


def test_decoder_holds_the_sigmoid_and_no_random_node(exported) -> None:
    folder, _ = exported
    ops = [node.op_type for node in onnx.load(str(folder / "decoder.onnx")).graph.node]
    assert "Sigmoid" in ops
    assert not [op for op in ops if op.startswith("Random") or op in {"Bernoulli", "Multinomial"}]


def test_onnx_matches_pytorch_on_batches_of_1_7_64(exported, checkpoint: Path) -> None:
    folder, _ = exported
    model = load_checkpoint(checkpoint).model
    assert check_parity(model, folder / "encoder.onnx", folder / "decoder.onnx") <= 1e-4


def test_parity_check_fails_loudly_for_a_different_model(exported, checkpoint: Path) -> None:
    folder, _ = exported
    model = load_checkpoint(checkpoint).model
    with torch.no_grad():
        model.state_dict()["mean_head.bias"].add_(1e-3)
    with pytest.raises(ParityError, match="mean at batch 1: onnxruntime and PyTorch differ"):
        check_parity(model, folder / "encoder.onnx", folder / "decoder.onnx")


def test_manifest_describes_the_model_and_its_files(exported) -> None:
    folder, manifest = exported
    assert read_manifest(folder) == manifest
    assert (manifest.name, manifest.version, manifest.latent_dim) == ("digits", 1, 4)
    assert manifest.image_shape.as_tuple() == (1, 8, 8)
    assert (manifest.likelihood, manifest.dataset, manifest.architecture) == (
        "bernoulli",
        "digits",
        "mlp",
    )
    assert manifest.class_names[:3] == ("0", "1", "2")
    assert manifest.training.epochs == 3
    assert manifest.producer.torch == torch.__version__
    verify_files(folder, manifest)


def test_manifest_nelbo_is_measured_from_the_onnx_graphs(exported, checkpoint: Path) -> None:
    _, manifest = exported
    test = load_dataset(DataOptions("digits")).test
    torch_estimate = negative_elbo(load_checkpoint(checkpoint).model, test, seed=7).negative_elbo
    assert manifest.training.details["test_images"] == len(test)
    assert manifest.training.test_negative_elbo_nats == pytest.approx(torch_estimate, abs=0.5)
    assert manifest.training.test_negative_elbo_nats != torch_estimate


def test_tampered_graph_is_detected(exported, tmp_path: Path) -> None:
    folder, manifest = exported
    copy = tmp_path / "1"
    shutil.copytree(folder, copy)
    data = bytearray((copy / "decoder.onnx").read_bytes())
    data[-10] ^= 0xFF
    (copy / "decoder.onnx").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"decoder\.onnx has SHA-256"):
        verify_files(copy, manifest)


def test_existing_version_is_not_overwritten(exported, checkpoint: Path) -> None:
    folder, _ = exported
    before = (folder / "encoder.onnx").stat().st_mtime_ns
    with pytest.raises(
        VersionExistsError, match="already exists; pick another --version or pass --force"
    ):
        export_checkpoint(checkpoint, folder.parent.parent, "digits", 1)
    assert (folder / "encoder.onnx").stat().st_mtime_ns == before


def test_force_replaces_an_existing_version(tmp_path: Path) -> None:
    export_untrained(tmp_path, "tiny", seed=0)
    first = read_manifest(tmp_path / "tiny" / "1")
    second = export_untrained(tmp_path, "tiny", seed=1, force=True)
    assert read_manifest(tmp_path / "tiny" / "1") == second
    assert second.sha256 != first.sha256
    assert sorted(p.name for p in tmp_path.joinpath("tiny").iterdir()) == ["1"]


def test_untrained_conv_colour_model_exports_with_a_gaussian_likelihood(tmp_path: Path) -> None:
    manifest = export_untrained(tmp_path, "colour", image_shape=(3, 12, 10), architecture="conv")
    folder = tmp_path / "colour" / "1"
    verify_files(folder, manifest)
    assert manifest.likelihood == "gaussian"
    assert manifest.training.details["gaussian_log_scale"] == 0.0
    (images,) = session(folder / "decoder.onnx").run(None, {"z": np.zeros((7, 2), np.float32)})
    assert images.shape == (7, 3, 12, 10)


def test_manifest_round_trips_through_json(exported) -> None:
    folder, manifest = exported
    assert Manifest.from_dict(json.loads((folder / "manifest.json").read_text())) == manifest


def test_export_into_a_live_polled_repository_is_served_and_never_refused(
    tmp_path: Path, server_settings, start_server
) -> None:
    """The export stages in a hidden sibling and renames: a server polling every 20 ms never
    sees a half-written version (no FAILED entry), then serves the new one."""
    import threading
    import time

    import grpc

    from vaeserve.v1 import vae_service_pb2 as pb
    from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

    export_untrained(tmp_path, "tiny", seed=0)
    settings = server_settings(
        model_repository=tmp_path, model_control="poll", repository_poll_s=0.02
    )
    seen: set[tuple[int, int]] = set()
    done = threading.Event()
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)

        def watch() -> None:
            while not done.is_set():
                for m in stub.ListModels(pb.ListModelsRequest()).models:
                    seen.add((m.version, m.state))

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            export_untrained(tmp_path, "tiny", version=2, seed=1)
            deadline = time.monotonic() + 10
            while (2, pb.MODEL_STATE_READY) not in seen:
                assert time.monotonic() < deadline, seen
                time.sleep(0.02)
        finally:
            done.set()
            watcher.join(10)
    assert not [state for state in seen if state[1] == pb.MODEL_STATE_FAILED]
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["1", "2"]


def test_force_never_leaves_the_version_folder_half_deleted(tmp_path: Path) -> None:
    from vaeserve.export.writer import publish

    target = tmp_path / "tiny" / "1"
    target.mkdir(parents=True)
    (target / "old").write_text("old")
    staging = tmp_path / "tiny" / ".staging-1-x"
    staging.mkdir()
    (staging / "new").write_text("new")
    publish(staging, target)
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]
