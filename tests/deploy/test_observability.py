"""The dashboard, the alerts and the autoscaling rule ask only for metrics the server exports.

A query that names a metric the server does not export is not an error to Prometheus or
Grafana: it returns nothing, and a panel stays empty or an alert never fires. So the names
are checked against a live server's /metrics page, after calls that give its labelled
series their first samples.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml  # type: ignore[import-untyped]

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "vaeserve.json"
# Series Prometheus makes itself for every target, not exported by the server.
SYNTHETIC = {"up"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan", "atan2",
}  # fmt: skip
SUFFIXES = {
    "counter": ("", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("",),
    "untyped": ("",),
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (Grafana's $variables allowed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\{?\w+\}?", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if match.group(2) is None and match.group(1).lower() not in PROMQL_WORDS:
            names.add(match.group(1))
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    queries = [target["expr"] for panel in panels for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert found, variable["definition"]
            queries.append(found.group(1))
    return queries


def alert_queries() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def adapter_queries() -> list[str]:
    path = DEPLOY / "k8s" / "prometheus-adapter" / "values.yaml"
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [rule["seriesQuery"] for rule in values["rules"]["custom"]]


def exported_names(exposition: str) -> set[str]:
    """Every series name the exposition has or will have, from its samples and TYPE lines."""
    names = set()
    for line in exposition.splitlines():
        declared = re.match(r"# TYPE (\S+) (\S+)", line)
        if declared:
            names |= {declared.group(1) + s for s in SUFFIXES[declared.group(2)]}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory, server_factory: Any, tiny_repository: Path
) -> Iterator[set[str]]:
    """The metric names of a live server that has answered a few calls."""
    factory = server_factory(tmp_path_factory.mktemp("observability"), tiny_repository)
    try:
        server = factory.start()
        server.wait_ready()
        call_a_little(server.port, server.ready_model())
        yield exported_names(server.scrape())
    finally:
        factory.stop_all()


def call_a_little(port: int, model: str) -> None:
    """A success and a client error, so labelled series have samples."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        stub.Sample(pb.SampleRequest(model_name=model, count=3, seed=1), timeout=30)
        stub.GetModelInfo(pb.GetModelInfoRequest(model_name=model), timeout=10)
        with pytest.raises(grpc.RpcError):
            stub.Sample(pb.SampleRequest(model_name="no-such-model", count=1), timeout=10)


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, method) (rate(a_bucket{code!="OK"}[5m])))'
        ' / on (method) group_left b_total offset 1h > bool 2e3 and up{job=~"$job"}'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}


def test_dashboard_is_grafana_json_with_queries() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "vaeserve" and dashboard["schemaVersion"] >= 36
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("method", "error", "latency", "batch", "queue depth", "provider"):
        assert topic in titles, topic
    assert len(dashboard_queries()) >= 10


@pytest.mark.parametrize(
    "queries",
    [dashboard_queries, alert_queries, adapter_queries],
    ids=["dashboard", "alerts", "adapter"],
)
def test_queries_name_only_exported_metrics(queries: Any, exported: set[str]) -> None:
    named = set().union(*(metric_names(expr) for expr in queries()))
    assert named, "no metric names found"
    assert named - SYNTHETIC <= exported, sorted(named - SYNTHETIC - exported)
