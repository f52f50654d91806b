"""Inputs larger than the server's max_items_per_request are split and joined in order."""

import asyncio

import numpy as np

from tests.client.conftest import GREY
from vaeserve.client import AsyncClient, Client


def test_decode_larger_than_the_limit_succeeds_in_order(small_limit_address: str) -> None:
    latents = np.linspace(-2, 2, 20, dtype=np.float32).reshape(10, 2)
    with Client(small_limit_address) as client:
        assert client.model_info(GREY).max_items_per_request == 3
        joined = client.decode(GREY, latents)
        one_by_one = np.concatenate([client.decode(GREY, z).images for z in latents])
    np.testing.assert_allclose(joined.images, one_by_one, atol=1e-6)


def test_encode_larger_than_the_limit_keeps_every_item(small_limit_address: str) -> None:
    images = np.random.default_rng(1).random((7, 1, 8, 8), dtype=np.float32)
    with Client(small_limit_address) as client:
        joined = client.encode(GREY, images)
        last = client.encode(GREY, images[-1:])
    assert joined.mean.shape == (7, 2)
    np.testing.assert_allclose(joined.mean[-1:], last.mean, atol=1e-6)


def test_sample_larger_than_the_limit_returns_the_full_count(small_limit_address: str) -> None:
    with Client(small_limit_address) as client:
        result = client.sample(GREY, 8, seed=3)
        again = client.sample(GREY, 8, seed=3)
    assert result.images.shape == (8, 1, 8, 8)
    np.testing.assert_array_equal(result.images, again.images)


def test_async_decode_larger_than_the_limit_keeps_order(small_limit_address: str) -> None:
    latents = np.linspace(-2, 2, 16, dtype=np.float32).reshape(8, 2)

    async def scenario() -> tuple[np.ndarray, np.ndarray]:
        async with AsyncClient(small_limit_address) as client:
            joined = await client.decode(GREY, latents)
            last = await client.decode(GREY, latents[-1:])
        return joined.images, last.images

    joined, last = asyncio.run(scenario())
    assert joined.shape == (8, 1, 8, 8)
    np.testing.assert_allclose(joined[-1:], last, atol=1e-6)
