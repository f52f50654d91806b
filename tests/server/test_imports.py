"""The serving install stays light: the server never imports torch or onnx."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_imports_neither_torch_nor_onnx() -> None:
    code = (
        "import sys, vaeserve.cli, vaeserve.server.app, vaeserve.server.main; "
        "print(sorted(m for m in ('torch', 'onnx') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
