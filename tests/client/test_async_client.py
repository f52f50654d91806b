"""Every method of the asyncio client against the real server."""

import asyncio

import numpy as np

from tests.client.conftest import GREY, RGB
from vaeserve.client import AsyncClient, NotFoundError


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
