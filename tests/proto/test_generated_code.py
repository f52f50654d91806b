"""The committed Python code for proto/ is what protoc generates from it today."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "src"
# Every proto package has its generated code committed: the data plane and the admin API.
PACKAGES = (Path("vaeserve") / "v1", Path("vaeserve") / "admin" / "v1")


def test_generated_code_matches_proto(tmp_path: Path) -> None:
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(ROOT / "proto"),
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            *protos,
        ],
        check=True,
    )
    fresh = sorted(
        p.relative_to(tmp_path)
        for package in PACKAGES
        for p in (tmp_path / package).iterdir()
        if p.suffix in {".py", ".pyi"}
    )
    assert {p.parent for p in fresh} == set(PACKAGES), "protoc missed a package"
    for relative in fresh:
        path = tmp_path / relative
        committed = GENERATED / relative
        assert committed.exists(), f"{committed} is missing: run `make proto`"
        if committed.read_bytes() != path.read_bytes():
            pytest.fail(f"{committed.relative_to(ROOT)} is stale: run `make proto` and commit")


def test_buf_lint_is_clean() -> None:
    buf = Path(sys.executable).with_name("buf")
    result = subprocess.run(
        [str(buf) if buf.exists() else "buf", "lint"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_proto_generates_every_proto_file() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for proto in (ROOT / "proto").rglob("*.proto"):
        assert str(proto.relative_to(ROOT)) in makefile, f"`make proto` skips {proto.name}"
