"""Fixtures of the security tests: a PKI on disk, the token in a file, a server wanting it.

Helpers that tests import (the token, certificate making, channels) are in pki.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.pki import TOKEN, Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a
    second CA with a client certificate of its own; all as PEM files and bytes."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test token in a file, with the trailing newline editors and `echo` leave."""
    path = tmp_path_factory.mktemp("token") / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def token_server(server_settings: Any, start_server: Any, token_file: Path) -> Iterator[Any]:
    """A plaintext server on the tiny models that wants the bearer token (from a file)."""
    with start_server(server_settings(auth_token_file=token_file)) as running:
        yield running
