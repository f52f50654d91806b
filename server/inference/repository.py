"""Find the model versions in a repository folder and decide which of them may serve.

Layout (contract 1): ``<root>/<name>/<version>/{encoder.onnx, decoder.onnx, manifest.json}``.
A version is refused, with the reason kept for ListModels, health and the log, when its
folder name is not a positive integer, its manifest is missing or off-schema, its name or
version disagree with the folders, or a graph file does not match its SHA-256.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vaeserve.manifest import Manifest, ManifestError, read_manifest, verify_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionEntry:
    """One version folder: a manifest when it passed every check, else the reason it failed."""

    name: str
    version: int
    path: Path
    manifest: Manifest | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.manifest is not None


def scan_repository(root: Path) -> list[VersionEntry]:
    """Every version folder under ``root``, checked, sorted by name then version."""
    if not root.is_dir():
        raise FileNotFoundError(f"model repository {root} is not a folder")
    entries: list[VersionEntry] = []
    for model_dir in sorted(p for p in root.iterdir() if _is_model_dir(p)):
        for version_dir in sorted(p for p in model_dir.iterdir() if p.is_dir()):
            entries.append(_check_version(model_dir.name, version_dir))
    entries.sort(key=lambda e: (e.name, e.version))
    for entry in entries:
        if not entry.ok:
            log.warning("refused model %s version %s: %s", entry.name, entry.version, entry.reason)
    return entries


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and not path.name.startswith((".", "_"))


def _check_version(name: str, version_dir: Path) -> VersionEntry:
    if not version_dir.name.isdigit() or int(version_dir.name) < 1:
        return VersionEntry(
            name, 0, version_dir, None, f"folder {version_dir.name!r} is not a positive integer"
        )
    version = int(version_dir.name)
    try:
        manifest = read_manifest(version_dir)
        if manifest.name != name or manifest.version != version:
            raise ManifestError(
                f"manifest says {manifest.name!r} version {manifest.version}, "
                f"but the folder is {name}/{version}"
            )
        verify_files(version_dir, manifest)
    except ManifestError as error:
        return VersionEntry(name, version, version_dir, None, str(error))
    return VersionEntry(name, version, version_dir, manifest)
