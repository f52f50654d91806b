"""create_server: the bind is checked, and message limits follow the configured limits."""

from __future__ import annotations

import asyncio
import socket

import pytest

from vaeserve.server.app import DEFAULT_MESSAGE_BYTES, create_server, message_limits
from vaeserve.server.errors import BindError
from vaeserve.server.inference.repository import scan_repository


def test_a_port_in_use_is_an_error(server_settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = server_settings(port=taken.getsockname()[1])
        with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1"):
            asyncio.run(create_server(settings))


def test_message_limits_grow_with_items_per_request(server_settings, tiny_repository) -> None:
    entries = scan_repository(tiny_repository)
    small = message_limits(server_settings(max_items_per_request=10), entries)
    large = message_limits(server_settings(max_items_per_request=1000), entries)
    assert small.receive < large.receive
    assert large.receive >= 1000 * 4 * 3 * 8 * 8
    assert large.send >= 1000 * 4 * 3 * 8 * 8


def test_message_limits_without_models_fall_back_to_the_grpc_default(server_settings) -> None:
    limits = message_limits(server_settings(), [])
    assert (limits.receive, limits.send) == (DEFAULT_MESSAGE_BYTES, DEFAULT_MESSAGE_BYTES)


def test_an_http_port_in_use_stops_start_up_with_its_address(server_settings) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        expected = rf"cannot listen on 127.0.0.1:{port} \(--http-port\): the port is in use"
        with pytest.raises(BindError, match=expected):
            asyncio.run(create_server(server_settings(http_port=port, metrics_port=-1)))


def test_http_port_minus_one_serves_no_http(server_settings, start_server) -> None:
    with start_server(server_settings(http_port=-1), load_models=False) as running:
        assert (running.server.http, running.server.http_port) == (None, None)
