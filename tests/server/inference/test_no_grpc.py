"""The inference core is protocol-free: importing every module of it loads no grpc.

An HTTP front (or any other) is meant to sit beside the gRPC one on the same core, so
nothing under ``server/inference/`` may reach grpc, directly or through what it imports.
The check runs in a fresh interpreter: this test process has grpc loaded already.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import vaeserve.server.inference as inference

IMPORT_ALL_AND_REPORT = """
import importlib, json, pkgutil, sys
import vaeserve.server.inference as package
names = [package.__name__ + "." + m.name for m in pkgutil.iter_modules(package.__path__)]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m == "grpc" or m.startswith(("grpc.", "grpc_")))
print(json.dumps({"modules": names, "grpc": loaded}))
"""


def test_importing_every_inference_module_loads_no_grpc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_AND_REPORT], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    expected = {m.name for m in pkgutil.iter_modules(inference.__path__)}
    assert {name.rsplit(".", 1)[1] for name in report["modules"]} == expected
    assert {"batcher", "batch_cost", "sessions", "model_table"} <= expected
    assert report["grpc"] == []
