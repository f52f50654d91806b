"""manifest.json: what a model version is, and the hashes that prove its files are intact.

Contract 1 of DESIGN.md in code. The exporter writes it, the server reads it; both import
this module, which needs nothing beyond the standard library, so the serving install stays
free of torch and onnx. A version folder holds::

    <repository>/<name>/<version>/encoder.onnx   input x [N,C,H,W] -> outputs mean, log_var [N,D]
    <repository>/<name>/<version>/decoder.onnx   input z [N,D]     -> output x [N,C,H,W] in [0,1]
    <repository>/<name>/<version>/manifest.json  this schema

Errors: :class:`ManifestError` (ValueError) for a manifest that is missing, not JSON, or
not this schema; :class:`IntegrityError` (ManifestError) for a file that is missing or
whose SHA-256 differs from the manifest's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
GRAPH_FILES = (ENCODER_FILE, DECODER_FILE)
LIKELIHOODS = ("bernoulli", "gaussian")


class ManifestError(ValueError):
    """The manifest is missing, unreadable, or does not follow the schema."""


class IntegrityError(ManifestError):
    """A graph file is missing or does not match the SHA-256 its manifest records."""


@dataclass(frozen=True)
class ImageShape:
    channels: int
    height: int
    width: int

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)


@dataclass(frozen=True)
class TrainingSummary:
    """How the model was trained and how good it is; free-form details go in ``details``."""

    epochs: int
    test_negative_elbo_nats: float
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Producer:
    vaeserve: str
    torch: str
    onnx_opset: int


@dataclass(frozen=True)
class Manifest:
    name: str
    version: int
    latent_dim: int
    image_shape: ImageShape
    likelihood: str
    dataset: str
    architecture: str
    training: TrainingSummary
    producer: Producer
    sha256: Mapping[str, str]
    class_names: tuple[str, ...] = ()

    def to_json(self) -> str:
        data = asdict(self)
        data["format_version"] = FORMAT_VERSION
        data["class_names"] = list(self.class_names)
        data["sha256"] = dict(self.sha256)
        data["training"]["details"] = dict(self.training.details)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        try:
            manifest = cls(
                name=str(data["name"]),
                version=int(data["version"]),
                latent_dim=int(data["latent_dim"]),
                image_shape=ImageShape(**{k: int(v) for k, v in data["image_shape"].items()}),
                likelihood=str(data["likelihood"]),
                dataset=str(data["dataset"]),
                architecture=str(data["architecture"]),
                training=TrainingSummary(
                    epochs=int(data["training"]["epochs"]),
                    test_negative_elbo_nats=float(data["training"]["test_negative_elbo_nats"]),
                    details=dict(data["training"].get("details", {})),
                ),
                producer=Producer(**data["producer"]),
                sha256={str(k): str(v) for k, v in data["sha256"].items()},
                class_names=tuple(str(c) for c in data.get("class_names", ())),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ManifestError(f"manifest does not follow the schema: {error!r}") from error
        manifest.validate()
        return manifest

    def validate(self) -> None:
        problems = []
        if self.version < 1:
            problems.append(f"version must be a positive integer, not {self.version}")
        if self.latent_dim < 1:
            problems.append(f"latent_dim must be positive, not {self.latent_dim}")
        if min(self.image_shape.as_tuple()) < 1:
            problems.append(f"image_shape must be positive, not {self.image_shape}")
        if self.likelihood not in LIKELIHOODS:
            problems.append(f"likelihood must be one of {LIKELIHOODS}, not {self.likelihood!r}")
        missing = [name for name in GRAPH_FILES if name not in self.sha256]
        if missing:
            problems.append(f"sha256 has no entry for {', '.join(missing)}")
        if problems:
            raise ManifestError("; ".join(problems))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(version_dir: Path) -> Manifest:
    path = version_dir / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ManifestError(f"{path} is missing") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path} cannot be read as JSON: {error}") from error
    if not isinstance(data, dict):
        raise ManifestError(f"{path} must hold a JSON object")
    return Manifest.from_dict(data)


def write_manifest(version_dir: Path, manifest: Manifest) -> Path:
    manifest.validate()
    path = version_dir / MANIFEST_FILE
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path


def verify_files(version_dir: Path, manifest: Manifest) -> None:
    """Raise :class:`IntegrityError` unless every graph file exists and matches its hash."""
    for name in GRAPH_FILES:
        path = version_dir / name
        if not path.is_file():
            raise IntegrityError(f"{path} is missing")
        actual = sha256_of(path)
        if actual != manifest.sha256[name]:
            raise IntegrityError(
                f"{path} has SHA-256 {actual[:12]}..., the manifest records "
                f"{manifest.sha256[name][:12]}...: the file was changed after export; "
                "re-export the model or restore the file"
            )
