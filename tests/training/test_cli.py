"""``vaeserve train`` and ``vaeserve evaluate`` through the real entry point, errors included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vaeserve.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def train_digits(output_dir: Path, *extra: str) -> int:
    return main([
        "train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "32",
        "--epochs", "2", "--batch-size", "64", "--no-progress", "--no-figures",
        "--output-dir", str(output_dir), *extra,
    ])  # fmt: skip


def test_train_writes_a_checkpoint_and_history(tmp_path: Path) -> None:
    assert train_digits(tmp_path / "run") == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


def test_train_stops_early_and_resumes(tmp_path: Path) -> None:
    assert train_digits(tmp_path / "run", "--stop-after", "1") == 0
    assert train_digits(tmp_path / "run", "--resume", str(tmp_path / "run")) == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]


def test_unknown_dataset_is_one_clear_line(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "train", "--dataset", "imagenet", "--output-dir", str(tmp_path))
    assert code == 2
    assert err.strip() == (
        "vaeserve train: error: unknown dataset 'imagenet'; "
        "choose one of digits, fashion-mnist, mnist, faces, cifar10"
    )


def test_missing_data_dir_says_how_to_get_the_data(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    code, _, err = run_cli(capsys, "train", "--dataset", "mnist", "--data-dir", str(missing))
    assert code == 2
    assert f"{missing} does not exist: download the four MNIST IDX files" in err


def test_bad_classes_lists_the_valid_ones(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "train", "--dataset", "digits", "--classes", "3,eleven")
    assert code == 2
    assert "unknown class eleven for digits; choose from 0, 1, 2" in err


def test_bad_hidden_widths_are_refused(capsys) -> None:
    code, _, err = run_cli(capsys, "train", "--dataset", "digits", "--hidden", "512,big")
    assert code == 2
    assert "--hidden takes comma-separated integers, not '512,big'" in err


def test_evaluate_reports_elbo_and_importance_weighted_nll(capsys, tmp_path: Path) -> None:
    train_digits(tmp_path / "run")
    capsys.readouterr()
    code, out, _ = run_cli(capsys, "evaluate", "--checkpoint", str(tmp_path / "run"), "--k", "64")
    result = json.loads(out)
    assert code == 0
    assert (result["k"], result["test_images"]) == (64, 359)
    assert result["iwae_nll"] < result["test_negative_elbo"]


def test_evaluate_binarized_protocol_on_a_subset(capsys, tmp_path: Path) -> None:
    train_digits(tmp_path / "run", "--binarize")
    capsys.readouterr()
    argv = ["evaluate", "--checkpoint", str(tmp_path / "run"), "--binarize", "--limit", "20"]
    code, out, _ = run_cli(capsys, *argv, "--k", "10", "--json", str(tmp_path / "eval.json"))
    assert code == 0
    assert json.loads(out)["binarized"] is True
    assert json.loads((tmp_path / "eval.json").read_text())["test_images"] == 20


def test_evaluate_rejects_k_beyond_5000(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "evaluate", "--checkpoint", str(tmp_path), "--k", "5001")
    assert code == 2
    assert "--k must be between 1 and 5000, not 5001" in err


def test_evaluate_names_a_missing_checkpoint(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "evaluate", "--checkpoint", str(tmp_path / "none.pt"))
    assert code == 2
    assert f"checkpoint {tmp_path / 'none.pt'} does not exist" in err


def test_a_file_that_is_not_a_checkpoint_is_named(capsys, tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    code, _, err = run_cli(capsys, "evaluate", "--checkpoint", str(tmp_path))
    assert code == 2
    assert "is not a vaeserve checkpoint" in err


def test_missing_train_extra_names_the_extra(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    code, _, err = run_cli(capsys, "train", "--dataset", "digits")
    assert code == 2
    assert "pip install 'vaeserve[train]'" in err


def test_help_explains_the_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert "nats per image" in " ".join(capsys.readouterr().out.split())


def test_command_modules_import_without_torch() -> None:
    code = (
        "import sys, vaeserve.cli; vaeserve.cli.build_parser(); "
        "assert 'torch' not in sys.modules and 'onnx' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
