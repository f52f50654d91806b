"""Nothing the serving process runs can unpickle or evaluate what it is sent.

Requests are protobuf messages, tensors are raw little-endian float32 read with
``numpy.frombuffer``, images are PNGs read by Pillow after their header is checked. This
test pins that: it reads the source of every ``vaeserve`` module the ``vaeserve serve``
process imports (and every non-benchmark module of the server package, lazy imports
included) and fails on an import of a deserialiser that can run code, a call to
``eval``/``exec``/``compile``/``__import__``, or ``allow_pickle=True``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import vaeserve.server

BANNED_MODULES = {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
BANNED_MODULES |= {"joblib", "torch", "yaml"}
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}

# What `vaeserve serve` imports before it serves, listed by a fresh interpreter.
LIST_SERVING_MODULES = """
import json, sys
import vaeserve.cli, vaeserve.server.main, vaeserve.server.app
print(json.dumps(sorted(
    m.__file__ for n, m in list(sys.modules.items())
    if (n == "vaeserve" or n.startswith("vaeserve.")) and getattr(m, "__file__", None)
)))
"""


def serving_sources() -> list[Path]:
    listed = subprocess.run(
        [sys.executable, "-c", LIST_SERVING_MODULES], capture_output=True, text=True, check=True
    )
    imported = {Path(name) for name in json.loads(listed.stdout)}
    package = Path(vaeserve.server.__file__).parent
    server = set(package.rglob("*.py"))
    return sorted(imported | server)


def findings(source: str, where: str) -> list[str]:
    """Every banned import, call or keyword in ``source``, as 'where:line what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{line} import {a.name}" for a in node.names if _banned(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and _banned(node.module):
            found.append(f"{line} from {node.module} import")
        elif isinstance(node, ast.Call):
            name = _called_name(node.func)
            if name in BANNED_CALLS:
                found.append(f"{line} call {name}()")
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "allow_pickle" and not (
                    isinstance(value, ast.Constant) and value.value is False
                ):
                    found.append(f"{line} allow_pickle not False")
    return found


def _banned(module: str) -> bool:
    return module.split(".")[0] in BANNED_MODULES


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value.id if isinstance(func.value, ast.Name) else None
    return func.attr if owner == "builtins" else None


def test_the_serving_code_neither_unpickles_nor_evaluates() -> None:
    sources = serving_sources()
    found = [f for path in sources for f in findings(path.read_text(), path.name)]
    assert found == []


def test_the_scan_covers_the_service_the_codec_and_the_manifest_reader() -> None:
    names = {path.name for path in serving_sources()}
    assert {"handlers.py", "codec.py", "manifest.py", "bearer.py", "credentials.py"} <= names


def test_the_scan_finds_what_it_bans() -> None:
    sample = (
        "import pickle\nfrom marshal import loads\n"
        "eval(x)\nbuiltins.exec(y)\nnp.load(f, allow_pickle=True)\n"
    )
    assert len(findings(sample, "sample.py")) == 5
