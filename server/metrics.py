"""Prometheus metrics of the service, all on one registry passed in (no global state).

Names follow the Prometheus conventions: ``vaeserve_`` prefix, base units (``_seconds``),
``_total`` for counters. Latency buckets run from a quarter millisecond (one small batch on
a CPU) to ten seconds (a thousand-item request queued behind others).

Several serving processes (``--workers``) use prometheus_client's multiprocess mode: each
worker's metrics live in memory-mapped files in a directory the supervisor owns, and the
supervisor's one /metrics (:func:`supervisor_registry`) sums them, so a counter is the
server's total, dead workers' calls included. Gauges say how they combine
(``multiprocess_mode``; ignored in one process). ``process_*`` metrics cannot be summed
that way: on the supervisor's page they describe the supervisor, and each worker's CPU and
memory are ``vaeserve_worker_*{worker}`` (:class:`WorkerProcessCollector`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

RequestChildren = tuple[Counter, Histogram]
GRPC = "grpc"
HTTP = "http"
"""Values of the ``protocol`` label of the request metrics: the front that served it."""

LATENCY_BUCKETS = (
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Why the batcher drops items (its WhyAbandoned answers).
DROP_REASONS = ("cancelled", "deadline_exceeded")
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """Every metric the server exports, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, *, worker: int | None = None) -> None:
        """``worker``: this process's slot among several serving processes, whose calls are
        also counted under it (how evenly the kernel spread the connections); None: alone."""
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
            multiprocess_mode="livesum",
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
            multiprocess_mode="livemax",
        )
        self._worker_requests: Counter | None = None
        if worker is not None:
            self._worker_requests = Counter(
                "vaeserve_worker_requests_total",
                "RPCs finished, by serving process slot (replacements keep the slot).",
                ["worker"],
                registry=registry,
            ).labels(str(worker))
        self.version_requests = Counter(
            "vaeserve_version_requests_total",
            "Successful data-plane RPCs by model and the version that answered them.",
            ["model", "version"],
            registry=registry,
        )
        self.model_loads = Counter(
            "vaeserve_model_loads_total",
            "Model versions loaded while serving or at start-up, by outcome: ok, or refused "
            "(incomplete, tampered or failed warm-up).",
            ["model", "outcome"],
            registry=registry,
        )
        self.model_unloads = Counter(
            "vaeserve_model_unloads_total",
            "Model versions unloaded, by outcome: drained (every admitted request finished "
            "on it) or forced (the grace period ran out first).",
            ["model", "outcome"],
            registry=registry,
        )
        self._version_children: dict[tuple[str, int], Counter] = {}
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
        if self._worker_requests is not None:
            self._worker_requests.inc()

    def version_answered(self, model: str, version: int) -> None:
        """Count one successful RPC answered by ``model`` at ``version``."""
        child = self._version_children.get((model, version))
        if child is None:
            child = self._version_children[(model, version)] = self.version_requests.labels(
                model, str(version)
            )
        child.inc()

    def version_loaded(self, name: str, version: int, provider: str) -> None:
        """``name`` at ``version`` serves from now on."""
        self.model_info.labels(name, str(version), provider).set(1)
        self.model_loads.labels(name, "ok").inc()

    def version_refused(self, name: str) -> None:
        """A version of ``name`` was refused when it was to be loaded."""
        self.model_loads.labels(name, "refused").inc()

    def version_unloaded(self, name: str, version: int, provider: str, *, drained: bool) -> None:
        """``name`` at ``version`` no longer serves: its series end, the unload is counted.

        One of several workers cannot end a series (prometheus_client's multiprocess files
        keep every series until the server restarts): it zeroes the gauges instead, so the
        version's ``vaeserve_model_info`` reads 0 and its queue depth 0."""
        self.model_unloads.labels(name, "drained" if drained else "forced").inc()
        if self._worker_requests is not None:
            self.model_info.labels(name, str(version), provider).set(0)
            for graph in ("encoder", "decoder"):
                self.queue_depth.labels(f"{name}/{version}", graph).set(0)
            return
        with _missing_ok():
            self.model_info.remove(name, str(version), provider)
        label = f"{name}/{version}"
        for metric in (
            self.queue_wait,
            self.inference,
            self.batch_size,
            self.queue_depth,
            self.items,
        ):
            for graph in ("encoder", "decoder"):
                with _missing_ok():
                    metric.remove(label, graph)
        for reason in DROP_REASONS:
            for graph in ("encoder", "decoder"):
                with _missing_ok():
                    self.dropped.remove(label, graph, reason)

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


# (slot, pid) of every live worker, and (slot, restarts) of every slot.
LiveWorkers = Callable[[], Iterable[tuple[int, int]]]
Restarts = Callable[[], Iterable[tuple[int, int]]]


def supervisor_registry(
    multiprocess_dir: Path, live_workers: LiveWorkers, restarts: Restarts
) -> CollectorRegistry:
    """The registry of the supervisor's /metrics: every worker's metrics summed, the
    supervisor's own ``process_*``, and each worker's CPU, memory and restarts."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    ProcessCollector(namespace="", registry=registry)
    registry.register(WorkerProcessCollector(live_workers, restarts))
    return registry


class WorkerProcessCollector(Collector):
    """CPU seconds and resident memory of each live worker, read from /proc at scrape time,
    and how often each slot's worker was replaced. Labelled by slot, so the label set stays
    bounded; a replacement's CPU counter starts again at 0, which ``rate`` reads as a reset."""

    def __init__(self, live_workers: LiveWorkers, restarts: Restarts) -> None:
        self._live_workers = live_workers
        self._restarts = restarts
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")

    def collect(self) -> Iterator[Metric]:
        cpu = CounterMetricFamily(
            "vaeserve_worker_cpu_seconds", "CPU time of a serving process.", labels=["worker"]
        )
        memory = GaugeMetricFamily(
            "vaeserve_worker_resident_memory_bytes",
            "Resident memory of a serving process.",
            labels=["worker"],
        )
        for slot, pid in self._live_workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it exited since the supervisor last looked
                continue
            # Fields after the command: state is field 3, utime 14, stime 15, rss 24.
            ticks = int(fields[11]) + int(fields[12])
            cpu.add_metric([str(slot)], ticks / self._ticks)
            memory.add_metric([str(slot)], int(fields[21]) * self._page)
        restarts = CounterMetricFamily(
            "vaeserve_worker_restarts",
            "Serving processes that died and were replaced, by slot.",
            labels=["worker"],
        )
        for slot, count in self._restarts():
            restarts.add_metric([str(slot)], count)
        yield from (cpu, memory, restarts)


def _missing_ok() -> contextlib.suppress:
    """prometheus_client raises KeyError when a label set to remove was never used."""
    return contextlib.suppress(KeyError)
