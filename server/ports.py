"""Whether a TCP port is free, asked before grpc binds it.

grpc's own bind failure is a ``RuntimeError`` plus a line that grpc core writes straight to
stderr, so ``vaeserve serve`` on a port in use would print two lines, one of them grpc's.
Trying the address with a plain socket first turns the common case into one
:class:`~vaeserve.server.errors.BindError` and nothing else; anything this check does not
catch (a port taken between the two binds, an address grpc refuses) still fails in grpc's
bind, with grpc's words.
"""

from __future__ import annotations

import errno
import socket

from vaeserve.server.errors import BindError


def refuse_a_port_in_use(host: str, port: int, flag: str) -> None:
    """Raise :class:`BindError` naming ``flag`` when ``host:port`` is taken; port 0 (any free
    one) never is."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        return  # an address that does not resolve: grpc's bind says so
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            # As grpc does: a port whose last connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise BindError(
                        f"cannot listen on {host}:{port} ({flag}): the port is in use "
                        "(is another server running?)"
                    ) from error
