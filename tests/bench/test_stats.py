"""The arithmetic behind every number the benchmark reports."""

import math

from vaeserve.bench.stats import LoadResult, limit_items_per_s, percentile, ratio, summarise


def test_percentile_is_a_latency_some_request_saw():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0.5) == 2.0
    assert percentile(values, 0.99) == 4.0


def test_percentile_of_no_calls_is_nan():
    assert math.isnan(percentile([], 0.5))


def test_summarise_counts_every_item_of_every_successful_call():
    result = summarise([0.002, 0.001, 0.003], items_per_request=256, seconds=0.5, errors={})
    assert (result.requests, result.items) == (3, 768)
    assert result.items_per_s == 1536.0
    assert result.p50_ms == 2.0


def test_load_result_survives_the_trip_between_processes():
    result = LoadResult(5, 40, 1.5, 1.0, 2.0, 3.0, {"RESOURCE_EXHAUSTED": 2})
    assert LoadResult.from_dict(result.to_dict()) == result


def test_limit_adds_transport_and_compute_costs_per_item():
    # 1 ms of transport plus 1 ms of compute per item: 500 items/s, not 1000.
    assert limit_items_per_s(1000.0, 1000.0) == 500.0
    assert math.isclose(limit_items_per_s(3000.0, 1500.0), 1000.0)


def test_limit_is_unknown_when_either_side_was_not_measured():
    assert math.isnan(limit_items_per_s(math.nan, 1000.0))
    assert math.isnan(limit_items_per_s(1000.0, 0.0))


def test_ratio_against_an_unmeasured_baseline_is_nan():
    assert math.isnan(ratio(10.0, math.nan))
    assert ratio(3.0, 4.0) == 0.75
