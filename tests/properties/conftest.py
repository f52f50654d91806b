"""Property tests of bad input: Hypothesis profiles, and one real server per module.

``bad_input_probe`` runs each test twice, over gRPC and over the HTTP/JSON front.
The ``ci`` profile (the default) is small and derandomised so CI is quick and repeatable;
``HYPOTHESIS_PROFILE=deep`` tries thousands of inputs. The server serves the embedded
models with at most ``bad_inputs.MAX_ITEMS`` items per request, so "too many" is cheap to
send. The session summary reports how many requests were sent, what came back, and how many
OK replies were checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from hypothesis import settings

from tests.http_calls import base_url
from tests.properties import bad_inputs, probe
from vaeserve.server.settings import embedded_repository

settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    database=None,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def bad_input_server(server_settings, start_server) -> Iterator[Any]:
    """A server of its own for this module, over the embedded models, gRPC and HTTP."""
    served = server_settings(
        model_repository=embedded_repository(),
        max_items_per_request=bad_inputs.MAX_ITEMS,
        max_png_bytes=bad_inputs.MAX_PNG_BYTES,
        metrics_port=-1,
    )
    with start_server(served) as running:
        yield running


@pytest.fixture(scope="module", params=["grpc", "http"])
def bad_input_probe(request, bad_input_server) -> Iterator[probe.Probe]:
    """A probe of the module's server over each protocol: every property holds for both."""
    with grpc.insecure_channel(bad_input_server.address) as channel:
        if request.param == "grpc":
            yield probe.Probe(channel)
        else:
            yield probe.HttpProbe(base_url(bad_input_server), channel)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if probe.requests_sent:
        terminalreporter.write_line(probe.summary())


@pytest.fixture(scope="module")
def bad_input_http(bad_input_server) -> Iterator[probe.HttpProbe]:
    """An HTTP probe of the module's server, for what only HTTP can get wrong."""
    with grpc.insecure_channel(bad_input_server.address) as channel:
        yield probe.HttpProbe(base_url(bad_input_server), channel)
