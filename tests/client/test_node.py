"""The Node.js client's own tests (node --test) pass against the real server."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.client.conftest import GREY

NODE_PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "node"


def test_node_client_tests_pass_against_the_server(address: str) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_PACKAGE / "node_modules").is_dir():
        pytest.skip("node or clients/node/node_modules missing (make node-deps runs npm ci)")
    environment = {**os.environ, "VAESERVE_TARGET": address, "VAESERVE_TEST_MODEL": GREY}
    result = subprocess.run(
        [node, "--test", "test/"],
        cwd=NODE_PACKAGE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# skipped 0" in result.stdout
    # 10 against the server (1 suite + 9 subtests); 4 retry and 4 channel tests against
    # servers of their own
    assert "# pass 18" in result.stdout, result.stdout
