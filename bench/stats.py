"""The numbers one scenario yields, and the limit they are judged against.

Kept free of grpc and onnxruntime so the load generator, the report and the tests share one
definition of a percentile and of the limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadResult:
    """Answers one target gave a closed-loop load in one measured window."""

    requests: int
    items: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: Mapping[str, int] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "items": self.items,
            "seconds": self.seconds,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "errors": dict(self.errors),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        return cls(
            requests=int(data["requests"]),
            items=int(data["items"]),
            seconds=float(data["seconds"]),
            p50_ms=float(data["p50_ms"]),
            p95_ms=float(data["p95_ms"]),
            p99_ms=float(data["p99_ms"]),
            errors={str(k): int(v) for k, v in data["errors"].items()},
        )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values; NaN when there are none.

    Nearest rank, not interpolation: a reported p99 is a latency some request really saw.
    """
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(
    latencies_s: Sequence[float],
    items_per_request: int,
    seconds: float,
    errors: Mapping[str, int],
) -> LoadResult:
    """Fold the latencies of the successful calls of one window into a :class:`LoadResult`."""
    ordered = sorted(latencies_s)
    return LoadResult(
        requests=len(ordered),
        items=len(ordered) * items_per_request,
        seconds=seconds,
        p50_ms=percentile(ordered, 0.50) * 1e3,
        p95_ms=percentile(ordered, 0.95) * 1e3,
        p99_ms=percentile(ordered, 0.99) * 1e3,
        errors=dict(errors),
    )


def limit_items_per_s(transport_items_per_s: float, compute_items_per_s: float) -> float:
    """The most items/s a server can sustain when moving the bytes and the math share a CPU.

    Each item costs 1/transport seconds of gRPC work plus 1/compute seconds of onnxruntime
    work on the same cores, so the rates combine like resistors in series.
    """
    if transport_items_per_s <= 0 or compute_items_per_s <= 0:
        return math.nan
    return 1.0 / (1.0 / transport_items_per_s + 1.0 / compute_items_per_s)


def at_least(value: float, bound: float) -> bool | None:
    """Whether a goal ``value >= bound`` is met; None where the value was not measured."""
    return value >= bound if math.isfinite(value) and math.isfinite(bound) else None


def at_most(value: float, bound: float) -> bool | None:
    """Whether a goal ``value <= bound`` is met; None where the value was not measured."""
    return value <= bound if math.isfinite(value) and math.isfinite(bound) else None


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN where the denominator was not measured or is zero."""
    if not math.isfinite(denominator) or denominator == 0 or not math.isfinite(numerator):
        return math.nan
    return numerator / denominator
