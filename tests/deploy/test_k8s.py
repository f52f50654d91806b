"""The Kubernetes manifests: every overlay renders and is valid for a current Kubernetes.

Validation is offline: kubernetes-validate ships the JSON schemas of each Kubernetes release
inside its wheel, and the check uses the newest release it ships, in strict mode (unknown
fields are errors). Custom resources have no schema there; the two used, the Prometheus
Operator's ServiceMonitor and PrometheusRule, are checked against tests/deploy/*.schema.json:
the part of the operator's CRD schemas that the manifests use, with unknown fields refused.
The remaining tests pin the properties that make the deployment behave: probes, drain
timing, locked-down containers, and the names that tie objects together.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
K8S = HERE.parents[1] / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu", "cpu-tls")
CUSTOM_KINDS = {"ServiceMonitor": "servicemonitor", "PrometheusRule": "prometheusrule"}

Objects = list[dict[str, Any]]


def find(objects: Objects, kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def container(objects: Objects) -> dict[str, Any]:
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["vaeserve"]
    result: dict[str, Any] = pod["containers"][0]
    return result


def settings(objects: Objects) -> dict[str, str]:
    """The server's environment: the ConfigMap's entries and the container's own env."""
    config: dict[str, str] = dict(find(objects, "ConfigMap")["data"])
    for variable in container(objects).get("env", []):
        config[variable["name"]] = variable.get("value", "<from valueFrom>")
    return config


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_valid_for_the_newest_kubernetes_release(
    overlay: str, rendered: dict[str, Objects]
) -> None:
    version = kubernetes_validate.latest_version()
    unchecked = set()
    for obj in rendered[overlay]:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.add(obj["kind"])
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
    assert unchecked == set(CUSTOM_KINDS)


@pytest.mark.parametrize("kind", sorted(CUSTOM_KINDS))
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_resource_matches_its_schema(
    overlay: str, kind: str, rendered: dict[str, Objects]
) -> None:
    schema_file = HERE / f"{CUSTOM_KINDS[kind]}.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.validate(find(rendered[overlay], kind), schema)


def test_prometheus_rule_holds_the_checked_alerting_rules(rendered: dict[str, Objects]) -> None:
    checked = yaml.safe_load((K8S.parent / "prometheus" / "alerts.yml").read_text("utf-8"))
    assert find(rendered["cpu"], "PrometheusRule")["spec"]["groups"] == checked["groups"]


def test_service_monitor_scrapes_only_the_service_with_the_metrics_port(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["cpu"]
    monitor = find(objects, "ServiceMonitor")
    wanted = monitor["spec"]["selector"]["matchLabels"]
    services = [o for o in objects if o["kind"] == "Service"]
    selected = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["vaeserve"]
    port_names = {p["name"] for p in selected[0]["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names


def test_services_select_the_server_pods(rendered: dict[str, Objects]) -> None:
    objects = rendered["cpu"]
    pod_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    for service in (o for o in objects if o["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= {
            p["name"] for p in container(objects)["ports"]
        }


def test_headless_service_serves_client_side_balancing(rendered: dict[str, Objects]) -> None:
    headless = find(rendered["cpu"], "Service", "vaeserve-headless")["spec"]
    assert headless["clusterIP"] == "None"
    assert not headless.get("publishNotReadyAddresses", False)


def probe_port(objects: Objects) -> int:
    """Where the kubelet's (plaintext) gRPC probe can ask: the health-only port when the
    server has one, else the gRPC port."""
    return int(settings(objects).get("VAESERVE_HEALTH_PORT", "50051"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_the_grpc_health_service(overlay: str, rendered: dict[str, Objects]) -> None:
    server = container(rendered[overlay])
    port = probe_port(rendered[overlay])
    assert server["readinessProbe"]["grpc"] == {"port": port, "service": "vaeserve.v1.VaeService"}
    assert server["livenessProbe"]["grpc"] == {"port": port, "service": ""}
    assert server["startupProbe"]["grpc"]["port"] == port


def test_tls_overlay_serves_tls_from_the_mounted_secret(rendered: dict[str, Objects]) -> None:
    objects = rendered["cpu-tls"]
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "tls")
    mount = next(m for m in container(objects)["volumeMounts"] if m["name"] == "tls")
    config = settings(objects)
    assert volume["secret"]["secretName"] == "vaeserve-tls"
    assert volume["secret"]["defaultMode"] == 0o440  # group: the pod's fsGroup
    assert mount["readOnly"] is True
    for variable, key in (
        ("VAESERVE_TLS_CERT_FILE", "tls.crt"),
        ("VAESERVE_TLS_KEY_FILE", "tls.key"),
    ):
        assert (
            config[variable] == f"{mount['mountPath']}/{key}"
        )  # keys of a kubernetes.io/tls Secret


def test_tls_overlay_probes_a_port_that_is_not_the_grpc_port(rendered: dict[str, Objects]) -> None:
    """A plaintext probe on the TLS port would fail every time and restart the pod forever."""
    assert probe_port(rendered["cpu-tls"]) != 50051


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_outlives_prestop_and_drain(overlay: str, rendered: dict[str, Objects]) -> None:
    objects = rendered[overlay]
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    pre_stop = container(objects)["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = float(settings(objects)["VAESERVE_GRACE_PERIOD_S"])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_container_is_locked_down(overlay: str, rendered: dict[str, Objects]) -> None:
    objects = rendered[overlay]
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    context = container(objects)["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False


LIMITS_CPU = {"containerName": "vaeserve", "resource": "limits.cpu", "divisor": "1"}


@pytest.mark.parametrize("overlay", ["cpu", "cpu-tls"])
def test_one_serving_process_per_cpu_of_the_limit_each_with_one_inference_thread(
    overlay: str, rendered: dict[str, Objects]
) -> None:
    server = container(rendered[overlay])
    env = {e["name"]: e for e in server["env"]}
    assert env["VAESERVE_WORKERS"]["valueFrom"]["resourceFieldRef"] == LIMITS_CPU
    assert env["VAESERVE_INFERENCE_THREADS"] == {"name": "VAESERVE_INFERENCE_THREADS", "value": "1"}
    assert "cpu" in server["resources"]["limits"]
    assert settings(rendered[overlay])["VAESERVE_INTRA_OP_THREADS"] == "1"


def test_a_gpu_pod_is_one_process_with_one_inference_worker_per_cpu(
    rendered: dict[str, Objects],
) -> None:
    env = {e["name"]: e for e in container(rendered["gpu"])["env"]}
    assert env["VAESERVE_WORKERS"] == {"name": "VAESERVE_WORKERS", "value": "1"}
    assert env["VAESERVE_INFERENCE_THREADS"]["valueFrom"]["resourceFieldRef"] == LIMITS_CPU


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connections_are_recycled_so_clients_rebalance(
    overlay: str, rendered: dict[str, Objects]
) -> None:
    assert float(settings(rendered[overlay])["VAESERVE_MAX_CONNECTION_AGE_S"]) > 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_is_a_serve_flag(overlay: str, rendered: dict[str, Objects]) -> None:
    """The server ignores unknown VAESERVE_* variables, so a misspelt one would do nothing."""
    help_text = subprocess.run(
        [sys.executable, "-m", "vaeserve", "serve", "--help"],
        check=True,
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    known = set(re.findall(r"\[(VAESERVE_[A-Z_]+)\]", help_text))
    assert "VAESERVE_MAX_CONNECTION_AGE_S" in known
    assert set(settings(rendered[overlay])) <= known


def test_gpu_overlay_asks_for_a_gpu_and_cuda(rendered: dict[str, Objects]) -> None:
    objects = rendered["gpu"]
    resources = container(objects)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert settings(objects)["VAESERVE_EXECUTION_PROVIDER"] == "cuda"
    assert container(objects)["image"].endswith("-gpu")


def test_cpu_overlay_scales_on_cpu(rendered: dict[str, Objects]) -> None:
    metrics = find(rendered["cpu"], "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics if m["type"] == "Resource"] == ["cpu"]


def test_queue_depth_autoscaler_asks_for_what_the_adapter_serves(
    rendered: dict[str, Objects],
) -> None:
    metrics = find(rendered["gpu"], "HorizontalPodAutoscaler")["spec"]["metrics"]
    asked = {m["pods"]["metric"]["name"] for m in metrics if m["type"] == "Pods"}
    values = yaml.safe_load((K8S / "prometheus-adapter" / "values.yaml").read_text("utf-8"))
    served = {rule["name"]["as"] for rule in values["rules"]["custom"]}
    assert asked == {"vaeserve_queue_depth_items"}
    assert asked <= served


def test_network_policy_opens_the_container_ports(rendered: dict[str, Objects]) -> None:
    objects = rendered["cpu"]
    policy = find(objects, "NetworkPolicy")["spec"]
    opened = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert opened == {p["name"] for p in container(objects)["ports"]}
    assert policy["podSelector"]["matchLabels"].items() <= (
        find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )


def test_disruption_budget_keeps_a_pod_up(rendered: dict[str, Objects]) -> None:
    objects = rendered["cpu"]
    budget = find(objects, "PodDisruptionBudget")["spec"]
    autoscaler = find(objects, "HorizontalPodAutoscaler")["spec"]
    assert budget["maxUnavailable"] < autoscaler["minReplicas"]


def test_the_http_port_is_served_by_the_container_and_the_service(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["cpu"]
    ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert ports["http"] == int(settings(objects)["VAESERVE_HTTP_PORT"])
    service = find(objects, "Service", "vaeserve")["spec"]["ports"]
    assert {"name": "http", "port": 8080, "targetPort": "http", "appProtocol": "http"} in service


def test_the_tls_overlay_marks_the_http_port_https(rendered: dict[str, Objects]) -> None:
    service = find(rendered["cpu-tls"], "Service", "vaeserve")["spec"]["ports"]
    assert [p["appProtocol"] for p in service if p["name"] == "http"] == ["https"]
