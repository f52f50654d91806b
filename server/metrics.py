"""Prometheus metrics of the service, all on one registry passed in (no global state).

Names follow the Prometheus conventions: ``vaeserve_`` prefix, base units (``_seconds``),
``_total`` for counters. Latency buckets run from a quarter millisecond (one small batch on
a CPU) to ten seconds (a thousand-item request queued behind others).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

RequestChildren = tuple[Counter, Histogram]
GRPC = "grpc"
HTTP = "http"
"""Values of the ``protocol`` label of the request metrics: the front that served it."""

LATENCY_BUCKETS = (
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """Every metric the server exports, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(namespace="", registry=registry)
        self.requests = Counter(
            "vaeserve_requests_total",
            "Requests finished, by method, model, status code (gRPC's names, on HTTP too) and "
            "protocol (grpc or http).",
            ["method", "model", "code", "protocol"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "vaeserve_request_duration_seconds",
            "Time from receiving a request to its reply, by method, model and protocol.",
            ["method", "model", "protocol"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "vaeserve_queue_wait_seconds",
            "Time an item waited in a batch queue before its batch started.",
            ["model", "graph"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.inference = Histogram(
            "vaeserve_inference_duration_seconds",
            "Time of one onnxruntime call on one executed batch.",
            ["model", "graph"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "vaeserve_batch_size_items",
            "Items in each executed batch.",
            ["model", "graph"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "vaeserve_queue_depth_items",
            "Items waiting in a batch queue.",
            ["model", "graph"],
            registry=registry,
        )
        self.items = Counter(
            "vaeserve_items_processed_total",
            "Items run through a graph.",
            ["model", "graph"],
            registry=registry,
        )
        self.dropped = Counter(
            "vaeserve_dropped_items_total",
            "Items dropped before compute because their request was no longer wanted.",
            ["model", "graph", "reason"],
            registry=registry,
        )
        self.model_info = Gauge(
            "vaeserve_model_info",
            "Served model versions (value 1) with their execution provider.",
            ["name", "version", "provider"],
            registry=registry,
        )
        # ``labels()`` validates and hashes its values on every call; finished RPCs look
        # their children up here instead. The key set is bounded: methods x known models
        # (unknown names share one label) x status codes x the two protocols.
        self._request_children: dict[tuple[str, str, str, str], RequestChildren] = {}

    def request_finished(
        self, method: str, model: str, code: str, seconds: float, *, protocol: str
    ) -> None:
        """Count one finished request of ``protocol`` (GRPC or HTTP) and record its duration."""
        key = (method, model, code, protocol)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, model, code, protocol),
                self.request_duration.labels(method, model, protocol),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def graph(self, model: str, graph: str) -> GraphMetrics:
        """Children of one batch queue, bound once so the hot path skips label lookups."""
        return GraphMetrics(self, model, graph)


class GraphMetrics:
    """Metrics of one model graph's queue; what the batcher reports to."""

    def __init__(self, metrics: Metrics, model: str, graph: str) -> None:
        self._metrics = metrics
        self._labels = (model, graph)
        self.queue_wait = metrics.queue_wait.labels(model, graph)
        self.inference = metrics.inference.labels(model, graph)
        self.batch_size = metrics.batch_size.labels(model, graph)
        self.queue_depth = metrics.queue_depth.labels(model, graph)
        self.items = metrics.items.labels(model, graph)
        self._dropped: dict[str, Counter] = {}

    def dropped(self, reason: str, count: int) -> None:
        child = self._dropped.get(reason)
        if child is None:
            child = self._dropped[reason] = self._metrics.dropped.labels(*self._labels, reason)
        child.inc(count)
