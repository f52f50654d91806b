"""/healthz and /readyz follow the one HealthState the gRPC health service reads."""

from __future__ import annotations

from tests.http_calls import base_url, call


def test_healthz_and_readyz_are_200_on_a_ready_server(running_server) -> None:
    url = base_url(running_server)
    assert call(f"{url}/healthz").json() == {"status": "SERVING"}
    assert call(f"{url}/readyz").status == 200
    assert call(f"{url}/readyz?model=tiny-rgb").status == 200


def test_readyz_is_503_until_the_models_are_warm(server_settings, start_server) -> None:
    with start_server(server_settings(metrics_port=-1), load_models=False) as running:
        url = base_url(running)
        live, ready = call(f"{url}/healthz"), call(f"{url}/readyz")
        running.call(running.server.load_models())
        ready_after = call(f"{url}/readyz")
    assert (live.status, ready.status, ready_after.status) == (200, 503, 200)
    assert ready.json() == {"status": "NOT_SERVING"}


def test_readyz_turns_503_at_the_start_of_a_drain_as_grpc_health_does(
    server_settings, start_server
) -> None:
    with start_server(server_settings(metrics_port=-1)) as running:
        running.call(running.server.health.drain())
        ready = call(f"{base_url(running)}/readyz")
        grpc_status = running.server.health.status("vaeserve.v1.VaeService")
    assert ready.status == 503
    assert grpc_status is False
    assert ready.headers.get("Connection") == "close"  # keep-alive clients move on


def test_readyz_of_an_unknown_model_is_404(running_server) -> None:
    answer = call(f"{base_url(running_server)}/readyz?model=nope")
    assert answer.status == 404
    assert answer.json()["code"] == 5
