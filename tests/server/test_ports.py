"""A taken port is found before grpc binds it, and named with the flag that asked for it."""

from __future__ import annotations

import socket

import pytest

from vaeserve.server.errors import BindError, StartupError
from vaeserve.server.ports import refuse_a_port_in_use


def test_port_0_is_never_taken() -> None:
    refuse_a_port_in_use("127.0.0.1", 0, "--port")


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refuse_a_port_in_use("127.0.0.1", port, "--port")


def test_a_listening_port_is_a_bind_error_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BindError, match=rf"127\.0\.0\.1:{port} \(--metrics-port\)"):
            refuse_a_port_in_use("127.0.0.1", port, "--metrics-port")


def test_a_port_taken_on_one_address_is_taken_for_all_of_them() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(StartupError):
            refuse_a_port_in_use("0.0.0.0", taken.getsockname()[1], "--port")
