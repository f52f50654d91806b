"""A server run with the TLS overlay's settings answers the kubelet's plaintext probes.

The overlay's ConfigMap is taken as rendered; only the file paths (certificates the test
makes) and the health port (a free one) change, so two copies of the suite cannot collide.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from grpc_health.v1 import health_pb2

from tests.deploy.conftest import READINESS_SERVICE, START_TIMEOUT_S, free_port, health_status
from tests.security.pki import make_pki

SERVING = int(health_pb2.HealthCheckResponse.SERVING)
UNKNOWN = int(health_pb2.HealthCheckResponse.UNKNOWN)


def overlay_settings(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return dict(config["data"])


def test_the_tls_overlay_server_is_ready_on_its_plaintext_probe_port(
    rendered: dict[str, list[dict[str, Any]]], servers: Any, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    health_port = free_port()
    overrides = {
        "VAESERVE_TLS_CERT_FILE": str(pki.server.cert_file),
        "VAESERVE_TLS_KEY_FILE": str(pki.server.key_file),
        "VAESERVE_HEALTH_PORT": str(health_port),
    }
    config = overlay_settings(rendered["cpu-tls"])
    assert set(overrides) <= set(config)  # the overlay sets these; the test changes values only
    server = servers.start(extra_env={**config, **overrides})
    deadline = time.monotonic() + START_TIMEOUT_S
    while health_status(health_port, READINESS_SERVICE) != SERVING:
        assert server.process.poll() is None, server.output()
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.2)
    assert health_status(health_port, "") == SERVING
    assert health_status(server.port, "") == UNKNOWN  # plaintext cannot reach the TLS port
