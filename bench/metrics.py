"""Read the executed batch sizes off a vaeserve's /metrics, around each scenario.

Throughput alone does not say whether the batcher batched: the mean executed batch size per
scenario does. It is the growth of the batch-size histogram's sum (items) over the growth of
its count (batches) between a scrape before and one after the scenario. The histogram is
found by name (the one histogram whose name says batch size), so the benchmark follows the
server's metric names rather than fixing them twice.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class BatchTally:
    """Items and batches the server has executed so far, over every model and graph."""

    items: float
    batches: float

    def mean_since(self, earlier: BatchTally) -> float:
        batches = self.batches - earlier.batches
        return (self.items - earlier.items) / batches if batches > 0 else float("nan")


def parse_batch_tally(exposition: str) -> BatchTally | None:
    """The batch-size histogram's totals, or None when the server exports none."""
    for family in text_string_to_metric_families(exposition):
        if family.type != "histogram" or "batch_size" not in family.name:
            continue
        items = sum(s.value for s in family.samples if s.name.endswith("_sum"))
        batches = sum(s.value for s in family.samples if s.name.endswith("_count"))
        return BatchTally(items, batches)
    return None


def scrape_batch_tally(url: str) -> BatchTally | None:
    """Scrape ``url``; None when it cannot be read (metrics are a bonus, not a requirement)."""
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as answer:
            text = answer.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None
    return parse_batch_tally(text)
