"""Find the model versions in a repository folder and decide which of them may serve.

Layout (contract 1): ``<root>/<name>/<version>/{encoder.onnx, decoder.onnx, manifest.json}``.
A version is refused, with the reason kept for ListModels, health and the log, when its
folder name is not a positive integer, its manifest is missing or off-schema, its name or
version disagree with the folders, or a graph file does not match its SHA-256.

Hidden and private folders (``.staging-*``, ``_trash``, ...) are not versions: publishers
build a version there and rename it into place (``vaeserve export`` does), so a scan never
sees a version being written under its final name. A version copied in place file by file
is refused until its last byte is there: the manifest lists the SHA-256 of every graph, so
a version that passes the check is complete by construction, and one that does not is
refused with the reason and checked again when its files change (``signature``).

Hashing every graph on every scan would make polling cost as much as reading the whole
repository; a :class:`HashCache` remembers each file's SHA-256 by its inode, size and
modification time, so a scan of an unchanged repository reads no graph.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from vaeserve.manifest import (
    GRAPH_FILES,
    IntegrityError,
    Manifest,
    ManifestError,
    read_manifest,
)

log = logging.getLogger(__name__)

# One folder name, as a model name must be: no separators, no "..", not hidden.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class VersionEntry:
    """One version folder: a manifest when it passed every check, else the reason it failed."""

    name: str
    version: int
    path: Path
    manifest: Manifest | None
    reason: str = ""
    signature: Signature = field(default=(), compare=False)
    """Name, size and modification time of each file when it was checked: a refused version
    is checked again once this changes (a copy in progress finishing)."""

    @property
    def ok(self) -> bool:
        return self.manifest is not None


def is_model_name(name: str) -> bool:
    """True when ``name`` can only mean one folder directly under the repository."""
    return MODEL_NAME.fullmatch(name) is not None and name not in {".", ".."}


class HashCache:
    """SHA-256 of files by (inode, size, mtime): unchanged files are not read again."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, int, int], str]] = {}

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        known = self._known.get(str(path))
        if known is not None and known[0] == key:
            return known[1]
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        self._known[str(path)] = (key, value)
        return value


def scan_repository(
    root: Path, cache: HashCache | None = None, *, log_refusals: bool = True
) -> list[VersionEntry]:
    """Every version folder under ``root``, checked, sorted by name then version."""
    if not root.is_dir():
        raise FileNotFoundError(f"model repository {root} is not a folder")
    cache = cache if cache is not None else HashCache()
    entries: list[VersionEntry] = []
    for model_dir in sorted(p for p in root.iterdir() if _is_visible_dir(p)):
        for version_dir in sorted(p for p in model_dir.iterdir() if _is_visible_dir(p)):
            entries.append(check_version(model_dir.name, version_dir, cache))
    entries.sort(key=lambda e: (e.name, e.version))
    if log_refusals:
        for entry in entries:
            if not entry.ok:
                log.warning(
                    "refused model %s version %s: %s", entry.name, entry.version, entry.reason
                )
    return entries


def version_folders(root: Path, name: str) -> dict[int, Path]:
    """The version folders of model ``name`` by version (unchecked: no file is read)."""
    model_dir = root / name
    if not model_dir.is_dir():
        return {}
    return {
        int(p.name): p
        for p in model_dir.iterdir()
        if _is_visible_dir(p) and p.name.isdigit() and int(p.name) >= 1
    }


def _is_visible_dir(path: Path) -> bool:
    """Folders whose name starts with "." or "_" are staging or private, never versions."""
    return not path.name.startswith((".", "_")) and path.is_dir()


def signature_of(version_dir: Path) -> Signature:
    """What changes while a version folder is written: its files' names, sizes and mtimes."""
    found = []
    try:
        with os.scandir(version_dir) as listing:
            for item in listing:
                try:
                    stat = item.stat()
                except FileNotFoundError:
                    continue
                found.append((item.name, stat.st_size, stat.st_mtime_ns))
    except OSError:
        return ()
    return tuple(sorted(found))


def check_version(name: str, version_dir: Path, cache: HashCache | None = None) -> VersionEntry:
    """``version_dir`` checked against contract 1: its manifest, names and graph hashes."""
    signature = signature_of(version_dir)
    if not version_dir.name.isdigit() or int(version_dir.name) < 1:
        return VersionEntry(
            name,
            0,
            version_dir,
            None,
            f"folder {version_dir.name!r} is not a positive integer",
            signature,
        )
    version = int(version_dir.name)
    try:
        manifest = read_manifest(version_dir)
        if manifest.name != name or manifest.version != version:
            raise ManifestError(
                f"manifest says {manifest.name!r} version {manifest.version}, "
                f"but the folder is {name}/{version}"
            )
        _verify_files(version_dir, manifest, cache or HashCache())
    except ManifestError as error:
        return VersionEntry(name, version, version_dir, None, str(error), signature)
    return VersionEntry(name, version, version_dir, manifest, "", signature)


def _verify_files(version_dir: Path, manifest: Manifest, cache: HashCache) -> None:
    """:func:`vaeserve.manifest.verify_files`, through the cache."""
    for file in GRAPH_FILES:
        path = version_dir / file
        if not path.is_file():
            raise IntegrityError(f"{path} is missing")
        try:
            actual = cache.sha256(path)
        except OSError as error:
            raise IntegrityError(f"{path} cannot be read: {error}") from error
        if actual != manifest.sha256[file]:
            raise IntegrityError(
                f"{path} has SHA-256 {actual[:12]}..., the manifest records "
                f"{manifest.sha256[file][:12]}...: the file was changed after export (or is "
                "still being copied); re-export the model or restore the file"
            )
