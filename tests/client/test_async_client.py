"""Every method of the asyncio client against the real server."""

import asyncio

import numpy as np
import pytest

from tests.client.conftest import GREY, RGB, large_photo
from vaeserve.client import AsyncClient, InvalidArgumentError, NotFoundError


def test_async_client_serves_every_method(address: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(address) as client:
            models = await client.list_models()
            assert any(m.name == GREY for m in models)
            info = await client.model_info(GREY)
            assert info.image_shape == (1, 8, 8)
            images = np.full((3, 3, 8, 8), 0.25, np.float32)
            encoded = await client.encode(RGB, images)
            assert encoded.mean.shape == (3, 4)
            decoded = await client.decode(RGB, encoded.mean, png=True)
            assert len(decoded.pngs) == 3
            sampled = await client.sample(GREY, 2, seed=5)
            assert sampled.images.shape == (2, 1, 8, 8)
            path = await client.interpolate(GREY, latents=np.eye(2, dtype=np.float32), steps=3)
            assert path.latents.shape == (3, 2)
            rebuilt = await client.reconstruct(RGB, images)
            assert rebuilt.images.shape == (3, 3, 8, 8)

    asyncio.run(scenario())


def test_async_client_raises_not_found_for_an_unknown_model(address: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(address) as client:
            try:
                await client.model_info("no-such-model")
            except NotFoundError as error:
                assert "no-such-model" in error.details
            else:
                raise AssertionError("NotFoundError expected")

    asyncio.run(scenario())


def test_async_encode_with_resize_takes_a_large_photo(address: str) -> None:
    async def scenario() -> np.ndarray:
        async with AsyncClient(address) as client:
            return (await client.encode(RGB, [large_photo()], resize=True)).mean

    assert asyncio.run(scenario()).shape == (1, 4)


def test_async_encode_of_a_large_photo_without_resize_names_the_option(address: str) -> None:
    async def scenario() -> None:
        async with AsyncClient(address) as client:
            await client.encode(RGB, [large_photo()])

    with pytest.raises(InvalidArgumentError, match="takes 8x8 RGB images; pass resize=True"):
        asyncio.run(scenario())
