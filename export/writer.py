"""Write one model version into a repository: two graphs, checked, measured, hashed.

The version folder is built in a hidden sibling (``<name>/.staging-<version>-xxxx``, on
the same filesystem) and renamed into place only once every check has passed. A rename is
atomic: a server reading the repository, even one polling it while it serves
(``--model-control poll``), sees either no version or the whole one, never a half-written
one, and its scan skips hidden folders. This is the safe way to publish into a live
repository by hand too: copy elsewhere on the same filesystem, then ``mv`` into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

import vaeserve
from vaeserve.export.errors import VersionExistsError
from vaeserve.export.graphs import OPSET, check_graph, export_decoder, export_encoder
from vaeserve.export.onnx_elbo import onnx_negative_elbo
from vaeserve.export.parity import check_parity
from vaeserve.manifest import (
    DECODER_FILE,
    ENCODER_FILE,
    ImageShape,
    Manifest,
    Producer,
    TrainingSummary,
    sha256_of,
    write_manifest,
)
from vaeserve.training.models import VAE

EVALUATION_SEED = 2024
# Hidden: a repository scan skips it, so a version is seen only once renamed into place.
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class ExportRequest:
    """What to export and where; ``test_images`` feed the manifest's measured test NELBO."""

    model: VAE
    repository: Path
    name: str
    version: int
    test_images: np.ndarray
    dataset: str
    epochs: int
    class_names: Sequence[str] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    force: bool = False


def export_model(request: ExportRequest) -> Manifest:
    """Export, verify and publish ``request.model`` as ``<repository>/<name>/<version>``."""
    target = ensure_free(request.repository, request.name, request.version, force=request.force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{request.version}-", dir=target.parent)
    )
    try:
        staging.chmod(0o755)
        manifest = _build(request, staging)
        publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def publish(staging: Path, target: Path) -> None:
    """Rename the finished folder ``staging`` to ``target`` (same filesystem: atomic).

    A ``target`` that exists (``--force``) is first renamed to a hidden sibling and removed
    after: the old version disappears and the new one appears by two renames, never
    through a half-deleted folder.
    """
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}old-", dir=target.parent))
    retired.rmdir()
    target.rename(retired)
    try:
        staging.rename(target)
    except OSError:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def ensure_free(repository: Path, name: str, version: int, *, force: bool) -> Path:
    """Return the version folder; raise VersionExistsError if it exists and ``force`` is off."""
    target = repository / name / str(version)
    if target.exists() and not force:
        raise VersionExistsError(f"{target} already exists; pick another --version or pass --force")
    return target


def _build(request: ExportRequest, folder: Path) -> Manifest:
    model = request.model.eval()
    encoder, decoder = folder / ENCODER_FILE, folder / DECODER_FILE
    export_encoder(model, encoder)
    export_decoder(model, decoder)
    node_types = {
        path.name: sorted({n.op_type for n in check_graph(path).graph.node})
        for path in (encoder, decoder)
    }
    worst = check_parity(model, encoder, decoder)
    log_scale = float(model.log_scale.detach())
    measured = onnx_negative_elbo(
        encoder, decoder, request.test_images, model.spec.likelihood, log_scale, EVALUATION_SEED
    )
    details = {
        **request.details,
        "test_reconstruction_nats": measured.reconstruction,
        "test_kl_nats": measured.kl,
        "test_images": len(request.test_images),
        "estimate": "1-sample ELBO from the exported ONNX graphs, numpy seed 2024",
        "parity_max_abs_diff": worst,
        "onnx_node_types": node_types,
    }
    if model.spec.likelihood == "gaussian":
        details["gaussian_log_scale"] = log_scale
    manifest = Manifest(
        name=request.name,
        version=request.version,
        latent_dim=model.spec.latent_dim,
        image_shape=ImageShape(*model.spec.image_shape),
        likelihood=model.spec.likelihood,
        dataset=request.dataset,
        architecture=model.spec.architecture,
        training=TrainingSummary(request.epochs, measured.negative_elbo, _as_json(details)),
        producer=Producer(vaeserve.__version__, torch.__version__, _opset(encoder)),
        sha256={ENCODER_FILE: sha256_of(encoder), DECODER_FILE: sha256_of(decoder)},
        class_names=tuple(request.class_names),
    )
    write_manifest(folder, manifest)
    return manifest


def _as_json(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as manifest.json will hold them (tuples become lists), so a read-back is equal."""
    normal: dict[str, Any] = json.loads(json.dumps(details))
    return normal


def _opset(path: Path) -> int:
    graph = onnx.load(str(path), load_external_data=False)
    versions = [entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx")]
    return versions[0] if versions else OPSET
