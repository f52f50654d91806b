"""A real vaeserve with its HTTP port, and Debian's chromium, for the explorer's tests and
scripts (tests.web.measure_slider, tests.web.screenshot).

The server is ``python -m vaeserve serve`` on the embedded models (tests/serve_process.py)
with ``--http-port 0``; the port it picks is read from its log. The browser is Debian's
``chromium`` package driven by Playwright through ``executable_path``: Playwright's own
browser download is not reachable here, and ``make test`` installs the package.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import queue
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.serve_process import EMBEDDED_MODELS, ServeProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HTTP_LINE = re.compile(r"HTTP listening on [\d.]+:(\d+)")  # the server's log line
START_TIMEOUT_S = 120.0
TOKEN = "explorer-test-token"  # the bearer token of the `token_web` server


@dataclass(frozen=True)
class WebServer:
    """A running server: the page is at ``url`` + "/", the API under ``url`` + "/v1"."""

    url: str
    process: ServeProcess

    def call(self, path: str, body: Any = None, token: str | None = None) -> Any:
        """One HTTP/JSON call; the decoded JSON reply (raises HTTPError on an error)."""
        return call(self.url, path, body, token)


def call(url: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """One HTTP/JSON call to the server at ``url``: GET without a body, POST with one."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def http_port(process: ServeProcess, timeout: float = START_TIMEOUT_S) -> int:
    """The HTTP port the server logged, from lines already read or still to come."""
    deadline = time.monotonic() + timeout
    pending = list(process.seen)
    while True:
        for line in pending:
            found = HTTP_LINE.search(line)
            if found:
                return int(found.group(1))
        try:
            line = process.lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("the server never logged its HTTP port") from None
        process.seen.append(line)
        pending = [line]


@contextlib.contextmanager
def web_server(*flags: str, repository: Path = EMBEDDED_MODELS) -> Iterator[WebServer]:
    """The embedded models (or ``repository``'s) served over gRPC and HTTP on 127.0.0.1,
    ephemeral ports."""
    with ServeProcess(repository, "--http-port", "0", *flags) as process:
        process.start()
        server = WebServer(f"http://127.0.0.1:{http_port(process)}", process)
        wait_ready(server)
        yield server


def wait_ready(server: WebServer, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(server.url + "/readyz", timeout=5) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.1)
    raise AssertionError("the HTTP API never became ready")


def png_pixels(data: str | bytes) -> np.ndarray[Any, Any]:
    """A PNG (base64, a data: URL, or bytes) as an int array [H, W] or [H, W, C]."""
    if isinstance(data, str):
        data = base64.b64decode(data.split(",", 1)[-1])
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image).astype(np.int16)


def grey(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The first channel of an RGB(A) picture (the explorer paints grey as R = G = B)."""
    return pixels[..., 0] if pixels.ndim == 3 else pixels


def floats(values: list[float]) -> str:
    """Latent vectors for a Tensor message: base64 of little-endian float32."""
    return base64.b64encode(np.asarray(values, "<f4").tobytes()).decode()


def rows(tensor: dict[str, Any]) -> np.ndarray[Any, Any]:
    """A Tensor message as a float32 array of its shape."""
    shape = [int(size) for size in tensor["shape"]]
    return np.frombuffer(base64.b64decode(tensor["data"]), "<f4").reshape(shape)
