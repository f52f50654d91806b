"""Clients pointed at the root conftest's real server (tiny models on 127.0.0.1)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vaeserve.client import Client

GREY = "tiny-grey"  # 1x8x8 images, latent 2
RGB = "tiny-rgb"  # 3x8x8 images, latent 4


def large_photo() -> bytes:
    """A 640x480 RGB PNG of noise: far past the model's 8x8 and the server's PNG size cap."""
    pixels = np.random.default_rng(3).integers(0, 256, (480, 640, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def address(running_server: Any) -> str:
    return str(running_server.address)


@pytest.fixture()
def client(address: str) -> Iterator[Client]:
    with Client(address) as sdk:
        yield sdk


@pytest.fixture(scope="session")
def small_limit_address(server_settings: Any, start_server: Any) -> Iterator[str]:
    """A server that takes at most 3 items per request, to make the client chunk."""
    with start_server(server_settings(max_items_per_request=3)) as running:
        yield str(running.address)
