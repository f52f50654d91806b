"""/metrics of a live server: valid for promtool, and moving as requests come in."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http_calls import base_url, call
from tests.tensor_messages import random_latents, tensor
from vaeserve.v1 import vae_service_pb2 as pb


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def value(text: str, metric: str, /, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_finds_nothing_wrong_with_the_metrics(running_server, stub) -> None:
    stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=2, seed=1))
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=scrape(running_server.metrics_port),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_request_counter_moves_with_requests(running_server, stub) -> None:
    labels = {"method": "Decode", "model": "tiny-rgb", "code": "OK", "protocol": "grpc"}
    before = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    for _ in range(3):
        stub.Decode(pb.DecodeRequest(model_name="tiny-rgb", latents=tensor(random_latents(2, 4))))
    after = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    assert after - before == 3


def test_batch_size_histogram_moves_with_items(running_server, stub) -> None:
    labels = {"model": "tiny-rgb/1", "graph": "decoder"}
    name = "vaeserve_batch_size_items_sum"
    before = value(scrape(running_server.metrics_port), name, **labels)
    stub.Decode(pb.DecodeRequest(model_name="tiny-rgb", latents=tensor(random_latents(5, 4))))
    after = value(scrape(running_server.metrics_port), name, **labels)
    assert after - before == 5


def test_errors_are_counted_with_their_code(running_server, stub) -> None:
    labels = {
        "method": "Sample",
        "model": "tiny-grey",
        "code": "INVALID_ARGUMENT",
        "protocol": "grpc",
    }
    before = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    with pytest.raises(Exception, match="count"):
        stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=0))
    after = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    assert after - before == 1


def test_model_info_names_the_provider(running_server) -> None:
    text = scrape(running_server.metrics_port)
    labels = {"name": "tiny-grey", "version": "2", "provider": "CPUExecutionProvider"}
    assert value(text, "vaeserve_model_info", **labels) == 1


def test_process_metrics_are_exported(running_server) -> None:
    assert value(scrape(running_server.metrics_port), "process_resident_memory_bytes") > 0


def test_requests_are_counted_by_protocol(running_server, stub) -> None:
    labels = {"method": "ListModels", "model": "", "code": "OK"}
    before = {
        protocol: value(scrape(running_server.metrics_port), "vaeserve_requests_total",
                        **labels, protocol=protocol)
        for protocol in ("grpc", "http")
    }  # fmt: skip
    stub.ListModels(pb.ListModelsRequest())
    for _ in range(2):
        assert call(f"{base_url(running_server)}/v1/models").status == 200
    text = scrape(running_server.metrics_port)
    after = {
        protocol: value(text, "vaeserve_requests_total", **labels, protocol=protocol)
        for protocol in ("grpc", "http")
    }
    assert (after["grpc"] - before["grpc"], after["http"] - before["http"]) == (1, 2)


def test_http_errors_are_counted_with_grpc_code_names(running_server) -> None:
    labels = {
        "method": "Sample",
        "model": "tiny-grey",
        "code": "INVALID_ARGUMENT",
        "protocol": "http",
    }
    before = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    call(f"{base_url(running_server)}/v1/models/tiny-grey:sample", "POST", b'{"count": 0}')
    after = value(scrape(running_server.metrics_port), "vaeserve_requests_total", **labels)
    assert after - before == 1
