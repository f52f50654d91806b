"""The container images' Dockerfiles: lint-clean, and shaped so the server can drain."""

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

DOCKERFILES = sorted((DEPLOY / "docker").glob("Dockerfile*"))


def final_stage(dockerfile: Path) -> list[str]:
    """The instructions after the last FROM, continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.upper().startswith("FROM "))
    return instructions[last_from + 1 :]


def test_both_images_have_a_dockerfile() -> None:
    assert [path.name for path in DOCKERFILES] == ["Dockerfile", "Dockerfile.gpu"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_is_hadolint_clean(dockerfile: Path, tool: Callable[[str], str]) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_server_runs_as_pid_1_in_exec_form(dockerfile: Path) -> None:
    entrypoints = [line for line in final_stage(dockerfile) if line.startswith("ENTRYPOINT")]
    assert len(entrypoints) == 1
    argv = json.loads(entrypoints[0].removeprefix("ENTRYPOINT"))
    assert argv[-2:] == ["/opt/vaeserve/bin/vaeserve", "serve"]
    assert not any(word in {"sh", "bash", "/bin/sh", "/bin/bash"} for word in argv)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_runtime_user_is_numeric_and_not_root(dockerfile: Path) -> None:
    users = [line.split()[1] for line in final_stage(dockerfile) if line.startswith("USER ")]
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_build_stage_runs_the_shared_install_script(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    assert re.search(r"^RUN sh deploy/docker/install\.sh .*/opt/vaeserve /src$", text, re.M)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_image_exposes_grpc_http_and_metrics(dockerfile: Path) -> None:
    exposed = [line.split()[1:] for line in final_stage(dockerfile) if line.startswith("EXPOSE")]
    assert exposed == [["50051", "8080", "8000"]]
