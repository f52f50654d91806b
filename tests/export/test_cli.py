"""``vaeserve export`` through the real entry point: success and every error path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vaeserve.cli import main
from vaeserve.manifest import read_manifest, verify_files


def export(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["export", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_writes_a_verified_version(capsys, checkpoint: Path, tmp_path: Path) -> None:
    argv = [
        "--checkpoint",
        str(checkpoint),
        "--repository",
        str(tmp_path),
        "--name",
        "d",
        "--version",
        "3",
    ]
    code, out, _ = export(capsys, *argv)
    assert code == 0
    assert out.startswith(f"exported {tmp_path / 'd' / '3'}: test negative ELBO ")
    verify_files(tmp_path / "d" / "3", read_manifest(tmp_path / "d" / "3"))


def test_export_refuses_an_existing_version(capsys, exported) -> None:
    folder, _ = exported
    argv = ["--checkpoint", "unused", "--repository", str(folder.parent.parent), "--name", "digits"]
    code, _, err = export(capsys, *argv)
    assert code == 2
    assert err.strip().endswith("already exists; pick another --version or pass --force")


def test_export_names_a_missing_checkpoint(capsys, tmp_path: Path) -> None:
    code, _, err = export(
        capsys, "--checkpoint", str(tmp_path / "gone"), "--name", "x", "--repository", str(tmp_path)
    )
    assert code == 2
    assert f"checkpoint {tmp_path / 'gone'} does not exist; train a model first" in err


def test_export_refuses_version_zero(capsys, tmp_path: Path) -> None:
    code, _, err = export(capsys, "--checkpoint", str(tmp_path), "--name", "x", "--version", "0")
    assert code == 2
    assert "--version must be a positive integer, not 0" in err


def test_export_without_the_train_extra_names_it(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, _, err = export(capsys, "--checkpoint", "c", "--name", "x")
    assert code == 2
    assert "needs onnx, which the 'train' extra installs: pip install 'vaeserve[train]'" in err


def test_export_requires_a_name(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--checkpoint", "c"])
    assert exit_info.value.code == 2
    assert "--name" in capsys.readouterr().err
