"""The gRPC contract only changes in ways existing clients survive (buf breaking).

Checked against proto/ as it stands on the ``main`` branch; a checkout without a main ref
(a tarball, a shallow CI clone of one branch) skips that check rather than guessing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO = Path("vaeserve") / "v1" / "vae_service.proto"
ADMIN_PROTO = Path("vaeserve") / "admin" / "v1" / "admin_service.proto"


def buf() -> str:
    local = Path(sys.executable).with_name("buf")
    found = str(local) if local.exists() else shutil.which("buf")
    if found is None:
        pytest.skip("buf is not installed (the dev extra installs buf-bin)")
    return found


def breaking(workdir: Path, against: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [buf(), "breaking", "--against", against],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def has_main_ref() -> bool:
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "main"], cwd=ROOT, capture_output=True
    )
    return found.returncode == 0


def copy_module(destination: Path) -> Path:
    shutil.copytree(ROOT / "proto", destination / "proto")
    shutil.copy(ROOT / "buf.yaml", destination / "buf.yaml")
    return destination


def test_proto_is_compatible_with_main() -> None:
    if not has_main_ref():
        pytest.skip("no main branch in this checkout to compare against")
    result = breaking(ROOT, f"{ROOT / '.git'}#branch=main,subdir=proto")
    assert result.returncode == 0, result.stdout + result.stderr


def test_renumbering_a_field_is_caught(tmp_path: Path) -> None:
    original = copy_module(tmp_path / "original")
    changed = copy_module(tmp_path / "changed")
    path = changed / "proto" / PROTO
    text = path.read_text()
    assert "uint32 count = 3;" in text
    path.write_text(text.replace("uint32 count = 3;", "uint32 count = 30;"))
    result = breaking(changed, str(original))
    assert result.returncode != 0
    assert "count" in result.stdout + result.stderr


def test_renumbering_an_admin_field_is_caught(tmp_path: Path) -> None:
    original = copy_module(tmp_path / "original")
    changed = copy_module(tmp_path / "changed")
    path = changed / "proto" / ADMIN_PROTO
    text = path.read_text()
    assert "uint32 drained_requests = 1;" in text
    path.write_text(text.replace("uint32 drained_requests = 1;", "uint32 drained_requests = 2;"))
    result = breaking(changed, str(original))
    assert result.returncode != 0
    assert "drained_requests" in result.stdout + result.stderr


def test_an_unchanged_copy_passes(tmp_path: Path) -> None:
    original = copy_module(tmp_path / "original")
    same = copy_module(tmp_path / "same")
    assert breaking(same, str(original)).returncode == 0
