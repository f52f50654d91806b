"""The images' install step, run as CI can run it: no container engine, same script, same files.

deploy/docker/install.sh is what both Dockerfiles run in their build stage. Here it installs
into a temporary virtual environment from a copy of exactly the files .dockerignore lets into
the build context, and the server it installed is started the way the image's ENTRYPOINT
starts it. Installing takes a while (packages come from the index or pip's cache), so the
install runs once for the module.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 600


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, pattern) for each line of .dockerignore, in order."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        rules.append((exception, glob_to_regex(line.lstrip("!").strip("/"))))
    return rules


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax: `**` spans folders, `*` and `?` stay inside one name."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
    table = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(table.get(part, re.escape(part)) for part in parts))


def in_build_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether `docker build` sends `path`: the last rule matching it or a parent folder wins."""
    names = path.split("/")
    prefixes = ["/".join(names[: i + 1]) for i in range(len(names))]
    included = True
    for exception, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = exception
    return included


def build_context_files() -> list[str]:
    """The working tree's files (tracked, or new and not git-ignored) the build would send."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    rules = dockerignore_rules()
    return [path for path in listed if (ROOT / path).is_file() and in_build_context(path, rules)]


def install_env() -> dict[str, str]:
    """This environment (pip's configuration and cache included), minus this test's venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PYTHON"] = sys.executable
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment made by install.sh from the build context; its path."""
    context = tmp_path_factory.mktemp("context")
    for path in build_context_files():
        target = context / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / path).read_bytes())
    prefix = tmp_path_factory.mktemp("install") / "venv"
    result = subprocess.run(
        ["sh", str(context / "deploy/docker/install.sh"), str(prefix), str(context)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        env=install_env(),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return prefix


def test_build_context_holds_the_package_and_nothing_else() -> None:
    files = build_context_files()
    top = {path.split("/")[0] for path in files}
    assert {"pyproject.toml", "src", "models", "deploy"} <= top
    assert not top & {".git", ".venv", "tests", "runs", "reports"}
    assert [p for p in files if p.startswith("deploy/")] == ["deploy/docker/install.sh"]
    assert not [p for p in files if "__pycache__" in p or p.endswith(".pyc")]


def test_serving_install_has_no_torch(installed: Path) -> None:
    probe = "import importlib.util; print(importlib.util.find_spec('torch') is None)"
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", probe], capture_output=True, text=True
    )
    assert result.stdout.strip() == "True", result.stderr


def test_installed_server_serves_samples(installed: Path, servers) -> None:
    server = servers.start(command=[str(installed / "bin" / "vaeserve")])
    server.wait_ready()
    model = server.ready_model()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        reply = stub.Sample(pb.SampleRequest(model_name=model, count=2, seed=7), timeout=30)
    images = reply.images.tensor
    assert images.shape[0] == 2 and len(images.shape) == 4
    pixels = np.frombuffer(images.data, dtype="<f4")
    assert pixels.size == int(np.prod(images.shape))
    assert np.all((pixels >= 0) & (pixels <= 1))


def test_embedded_models_are_baked_into_the_install(installed: Path) -> None:
    graph_files = r"models/[^/]+/[0-9]+/(?:encoder\.onnx|decoder\.onnx|manifest\.json)"
    shipped = {p for p in build_context_files() if re.fullmatch(graph_files, p)}
    site = next(installed.glob("lib/python3*/site-packages/vaeserve/models"))
    installed_files = {
        "models/" + str(path.relative_to(site))
        for path in site.rglob("*")
        if path.is_file() and path.suffix in {".onnx", ".json"}
    }
    assert installed_files == shipped
