"""The SDK and ``vaeserve-client`` against a real server in explicit model control: list
the repository index, load and unload versions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import onnx_models
from tests.client.conftest import GREY
from vaeserve.client import AsyncClient, Client, InvalidArgumentError, NotFoundError
from vaeserve.client.cli import main


@pytest.fixture()
def explicit_address(tmp_path: Path, server_settings: Any, start_server: Any) -> Iterator[str]:
    """A server in explicit mode on a repository with tiny-grey versions 1 and 2 on disk,
    only version 1 loaded (version 2 is published after start-up)."""
    repository = tmp_path / "repository"
    onnx_models.write_model(repository, onnx_models.GREY_V1)
    settings = server_settings(model_repository=repository, model_control="explicit")
    with start_server(settings) as running:
        onnx_models.write_model(repository, onnx_models.GREY_V2)
        yield str(running.address)


def test_repository_index_shows_a_version_on_disk_as_available(explicit_address: str) -> None:
    with Client(explicit_address) as client:
        index = {(e.name, e.version): e for e in client.repository_index()}
    assert index[(GREY, 1)].state == "READY"
    assert index[(GREY, 2)].state == "AVAILABLE"
    assert index[(GREY, 2)].in_repository


def test_load_model_serves_the_highest_version_by_default(explicit_address: str) -> None:
    with Client(explicit_address) as client:
        loaded = client.load_model(GREY)
        info = client.model_info(GREY)
    assert (loaded.version, loaded.state) == (2, "READY")
    assert info.version == 2
    assert info.versions == (1, 2)


def test_unload_model_makes_the_version_not_found(explicit_address: str) -> None:
    with Client(explicit_address) as client:
        assert client.unload_model(GREY, version=1) == 0
        with pytest.raises(NotFoundError):
            client.model_info(GREY, version=1)


def test_async_client_loads_and_unloads(explicit_address: str) -> None:
    async def go() -> tuple[int, list[tuple[int, str]]]:
        async with AsyncClient(explicit_address) as client:
            loaded = await client.load_model(GREY, version=2)
            await client.unload_model(GREY, version=1)
            index = await client.repository_index()
        return loaded.version, [(e.version, e.state) for e in index]

    version, index = asyncio.run(go())
    assert version == 2
    assert index == [(1, "AVAILABLE"), (2, "READY")]


def test_loading_a_bad_name_is_an_invalid_argument(explicit_address: str) -> None:
    with Client(explicit_address) as client, pytest.raises(InvalidArgumentError):
        client.load_model("../etc")


def test_cli_repository_lists_every_version(
    explicit_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--target", explicit_address, "repository"]) == 0
    out = capsys.readouterr().out
    assert f"{GREY}\t1\tREADY" in out
    assert f"{GREY}\t2\tAVAILABLE" in out


def test_cli_load_then_unload(explicit_address: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", explicit_address, "load", GREY, "--version", "2"]) == 0
    assert main(["--target", explicit_address, "unload", GREY, "--version", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{GREY} version 2: READY" in out
    assert f"{GREY} version 1: unloaded" in out


def test_cli_unload_of_an_unknown_version_exits_1(
    explicit_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--target", explicit_address, "unload", GREY, "--version", "7"]) == 1
    assert "no version 7" in capsys.readouterr().err
