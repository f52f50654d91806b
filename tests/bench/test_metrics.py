"""Mean executed batch sizes, read from a Prometheus exposition of a batch-size histogram."""

import math

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from vaeserve.bench.metrics import parse_batch_tally, scrape_batch_tally
from vaeserve.bench.processes import free_port


def _exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_mean_batch_is_items_over_batches_between_two_scrapes():
    registry = CollectorRegistry()
    sizes = Histogram("demo_batch_size", "items per batch", ["graph"], registry=registry)
    sizes.labels("decoder").observe(1)
    before = parse_batch_tally(_exposition(registry))
    for size in (8, 16):
        sizes.labels("decoder").observe(size)
    sizes.labels("encoder").observe(6)
    after = parse_batch_tally(_exposition(registry))
    assert before is not None and after is not None
    assert after.mean_since(before) == 10.0


def test_no_batches_between_scrapes_gives_no_mean():
    registry = CollectorRegistry()
    Histogram("demo_batch_size", "items per batch", registry=registry).observe(4)
    tally = parse_batch_tally(_exposition(registry))
    assert tally is not None and math.isnan(tally.mean_since(tally))


def test_a_server_without_a_batch_histogram_yields_no_tally():
    registry = CollectorRegistry()
    Counter("demo_requests", "requests", registry=registry).inc()
    assert parse_batch_tally(_exposition(registry)) is None


def test_an_unreachable_metrics_port_yields_no_tally():
    assert scrape_batch_tally(f"http://127.0.0.1:{free_port()}/metrics") is None
