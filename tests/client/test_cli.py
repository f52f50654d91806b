"""``vaeserve-client`` end to end: real server, real files written and read back."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.client.conftest import GREY, RGB, large_photo
from vaeserve.client.cli import main


def run(address: str, *argv: str) -> int:
    return main(["--target", address, *argv])


@pytest.fixture()
def grey_pngs(tmp_path: Path) -> list[Path]:
    paths = []
    for index, shade in enumerate((30, 220)):
        path = tmp_path / f"in{index}.png"
        Image.new("L", (8, 8), color=shade).save(path)
        paths.append(path)
    return paths


def test_models_lists_the_served_models(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(address, "models") == 0
    assert GREY in capsys.readouterr().out


def test_info_prints_the_image_shape(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(address, "info", RGB) == 0
    assert "image: 3x8x8" in capsys.readouterr().out


def test_sample_writes_a_square_grid(address: str, tmp_path: Path) -> None:
    out = tmp_path / "s.png"
    assert run(address, "sample", GREY, "--count", "4", "--seed", "1", "--out", str(out)) == 0
    with Image.open(out) as grid:
        assert grid.size == (2 * 9 + 1, 2 * 9 + 1)


def test_encode_then_decode_round_trips_through_files(
    address: str, tmp_path: Path, grey_pngs: list[Path]
) -> None:
    latents = tmp_path / "z.json"
    assert run(address, "encode", GREY, *map(str, grey_pngs), "--out", str(latents)) == 0
    out = tmp_path / "d.png"
    assert run(address, "decode", GREY, str(latents), "--out", str(out)) == 0
    with Image.open(out) as grid:
        assert grid.mode == "L"


def test_encode_writes_npy_of_the_latent_shape(
    address: str, tmp_path: Path, grey_pngs: list[Path]
) -> None:
    latents = tmp_path / "z.npy"
    assert run(address, "encode", GREY, *map(str, grey_pngs), "--out", str(latents)) == 0
    assert np.load(latents).shape == (2, 2)


def test_reconstruct_puts_originals_above_reconstructions(
    address: str, tmp_path: Path, grey_pngs: list[Path]
) -> None:
    out = tmp_path / "r.png"
    assert run(address, "reconstruct", GREY, *map(str, grey_pngs), "--out", str(out)) == 0
    with Image.open(out) as grid:
        assert grid.size == (2 * 9 + 1, 2 * 9 + 1)


def test_interpolate_between_points_writes_a_strip(address: str, tmp_path: Path) -> None:
    out = tmp_path / "i.png"
    argv = ["interpolate", GREY, "--latents", "0.5,-1", "1,1", "--steps", "5"]
    assert run(address, *argv, "--method", "spherical", "--out", str(out)) == 0
    with Image.open(out) as strip:
        assert strip.size == (5 * 9 + 1, 9 + 1)


def test_interpolate_between_images_writes_a_strip(
    address: str, tmp_path: Path, grey_pngs: list[Path]
) -> None:
    out = tmp_path / "i.png"
    argv = ["interpolate", GREY, "--images", *map(str, grey_pngs), "--steps", "3"]
    assert run(address, *argv, "--out", str(out)) == 0
    assert out.stat().st_size > 0


def test_manifold_writes_a_size_by_size_grid(address: str, tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    assert run(address, "manifold", GREY, "--size", "4", "--out", str(out)) == 0
    with Image.open(out) as grid:
        assert grid.size == (4 * 9 + 1, 4 * 9 + 1)


def test_manifold_refuses_a_model_that_is_not_2d(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(address, "manifold", RGB, "--out", str(tmp_path / "m.png")) == 2
    assert "not 2-D" in capsys.readouterr().err


def test_unknown_model_is_one_line_and_exit_1(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(address, "info", "nope") == 1
    err = capsys.readouterr().err
    assert "NOT_FOUND" in err and err.count("\n") == 1


def test_bad_image_file_is_one_line_and_exit_2(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    assert run(address, "encode", GREY, str(bad)) == 2
    assert "bad.png: not a readable image" in capsys.readouterr().err


def test_absent_server_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", "127.0.0.1:1", "--timeout", "3", "models"]) == 3
    assert "cannot reach 127.0.0.1:1" in capsys.readouterr().err


def test_target_defaults_to_the_environment_variable(
    address: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VAESERVE_TARGET", address)
    assert main(["models"]) == 0
    assert GREY in capsys.readouterr().out


@pytest.fixture()
def large_photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(large_photo())
    return path


def test_encode_of_a_large_photo_without_resize_names_the_file_and_flag(
    address: str, large_photo_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(address, "encode", GREY, str(large_photo_file)) == 1
    err = capsys.readouterr().err
    assert f"{large_photo_file} is 640x480; the model tiny-grey takes 8x8 grey images" in err
    assert "--resize on the command line" in err and err.count("\n") == 1


def test_encode_with_resize_writes_latents_for_a_large_photo(
    address: str, tmp_path: Path, large_photo_file: Path
) -> None:
    latents = tmp_path / "z.npy"
    argv = ["encode", GREY, "--resize", str(large_photo_file), "--out", str(latents)]
    assert run(address, *argv) == 0
    assert np.load(latents).shape == (1, 2)


def test_reconstruct_with_resize_shows_the_scaled_original(
    address: str, tmp_path: Path, large_photo_file: Path
) -> None:
    out = tmp_path / "r.png"
    argv = ["reconstruct", RGB, "--resize", str(large_photo_file), "--out", str(out)]
    assert run(address, *argv) == 0
    with Image.open(out) as grid:
        assert grid.size == (9 + 1, 2 * 9 + 1)
        assert grid.mode == "RGB"


def test_interpolate_with_resize_takes_photos_of_different_sizes(
    address: str, tmp_path: Path, large_photo_file: Path, grey_pngs: list[Path]
) -> None:
    out = tmp_path / "i.png"
    argv = ["interpolate", GREY, "--resize", "--images", str(large_photo_file), str(grey_pngs[0])]
    assert run(address, *argv, "--steps", "4", "--out", str(out)) == 0
    with Image.open(out) as strip:
        assert strip.size == (4 * 9 + 1, 9 + 1)
