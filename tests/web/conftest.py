"""Fixtures for the explorer page's tests: a real server with its HTTP port (one for the
session, one more with a bearer token), Debian's chromium, and a fresh page per test that
fails the test on any console error or uncaught exception it did not expect.

Chain: ``chromium`` (skips when /usr/bin/chromium is missing) -> ``browser`` ->
``page`` (console watched) ; ``web`` / ``token_web`` (servers). Page helpers live in
tests/web/explorer.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web import harness


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not harness.CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium "
            "(make test installs it: apt-get install chromium)"
        )
    return Path(harness.CHROMIUM)


@pytest.fixture(scope="session")
def web() -> Iterator[harness.WebServer]:
    """The embedded models over HTTP, no token."""
    with harness.web_server() as server:
        yield server


@pytest.fixture(scope="session")
def token_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.WebServer]:
    """The embedded models over HTTP behind the bearer token ``TOKEN``."""
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(harness.TOKEN + "\n")
    with harness.web_server("--auth-token-file", str(token_file)) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_web(tiny_repository: Path) -> Iterator[harness.WebServer]:
    """The tiny test models over HTTP: tiny-grey (1x8x8, versions 1 and 2), tiny-rgb (3x8x8)."""
    with harness.web_server(repository=tiny_repository) as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=harness.CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class Console:
    """Console errors and uncaught exceptions of one page; ``expect`` excuses a pattern."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []

    def heard(self, kind: str, text: str) -> None:
        if kind == "error":
            self.errors.append(text)

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser, console: Console) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.on("console", lambda message: console.heard(message.type, message.text))
    opened.on("pageerror", lambda error: console.heard("error", f"uncaught: {error}"))
    yield opened
    context.close()
    assert console.unexpected() == [], "the page logged errors"
