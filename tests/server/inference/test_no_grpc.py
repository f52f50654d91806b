"""The core is protocol-free: importing every module of inference/ (and of dataplane/, which
holds the service's behaviour on protobuf messages) loads no grpc.

An HTTP front (or any other) is meant to sit beside the gRPC one on the same core, so
nothing under ``server/inference/`` or ``server/dataplane/`` may reach grpc, directly or
through what it imports. The check runs in a fresh interpreter: this test process has grpc
loaded already.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

IMPORT_ALL_AND_REPORT = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = [package.__name__ + "." + m.name for m in pkgutil.iter_modules(package.__path__)]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m == "grpc" or m.startswith(("grpc.", "grpc_")))
print(json.dumps({"modules": names, "grpc": loaded}))
"""
PROTOCOL_FREE = {
    "vaeserve.server.inference": {"batcher", "batch_cost", "sessions", "model_table"},
    "vaeserve.server.dataplane": {"handlers", "codec"},
}


@pytest.mark.parametrize("package", sorted(PROTOCOL_FREE))
def test_importing_every_module_of_the_core_loads_no_grpc(package: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_AND_REPORT, package],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    expected = {m.name for m in pkgutil.iter_modules(importlib.import_module(package).__path__)}
    assert {name.rsplit(".", 1)[1] for name in report["modules"]} == expected
    assert PROTOCOL_FREE[package] <= expected
    assert report["grpc"] == []
