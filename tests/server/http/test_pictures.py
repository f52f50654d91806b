"""GET .../samples.png: one grid PNG of the samples, the same pictures Sample draws."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.http_calls import base_url, call
from vaeserve.server.dataplane import codec
from vaeserve.v1 import vae_service_pb2 as pb


@pytest.fixture(scope="module")
def url(running_server) -> str:
    return base_url(running_server)


def png(answer) -> np.ndarray:
    assert answer.status == 200, answer.body[:300]
    assert answer.content_type == "image/png"
    with Image.open(io.BytesIO(answer.body), formats=["PNG"]) as image:
        return np.asarray(image)


def test_samples_png_is_one_grid_of_count_images(url) -> None:
    grid = png(call(f"{url}/v1/models/tiny-grey/samples.png?count=6&seed=1&columns=3"))
    # 3 columns x 2 rows of 8x8 images, a pixel of white between and around them
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1)


def test_a_colour_model_gives_an_rgb_grid(url) -> None:
    grid = png(call(f"{url}/v1/models/tiny-rgb/samples.png?count=4&seed=1"))
    assert grid.shape == (2 * 9 + 1, 2 * 9 + 1, 3)


def test_the_grid_holds_the_images_sample_draws(url, stub) -> None:
    grid = png(call(f"{url}/v1/models/tiny-grey/samples.png?count=4&seed=9&temperature=0.5"))
    reply = stub.Sample(pb.SampleRequest(model_name="tiny-grey", count=4, seed=9, temperature=0.5))
    images = np.frombuffer(reply.images.tensor.data, "<f4").reshape(4, 1, 8, 8)
    expected = codec.encode_pngs(images)
    for index, file in enumerate(expected):
        row, column = divmod(index, 2)
        with Image.open(io.BytesIO(file)) as image:
            tile = np.asarray(image)
        assert np.array_equal(
            grid[1 + 9 * row : 9 + 9 * row, 1 + 9 * column : 9 + 9 * column], tile
        )


def test_the_seed_used_comes_back_in_a_header_and_draws_the_same_grid(url) -> None:
    first = call(f"{url}/v1/models/tiny-grey/samples.png?count=4")
    seed = first.headers["Vaeserve-Seed"]
    again = call(f"{url}/v1/models/tiny-grey/samples.png?count=4&seed={seed}")
    assert np.array_equal(png(first), png(again))


def test_the_versioned_path_draws_from_that_version(url) -> None:
    answer = call(f"{url}/v1/models/tiny-grey/versions/1/samples.png?count=1&seed=1")
    assert png(answer).shape == (10, 10)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("count=0", "count must be at least 1"),
        ("count=ten", "count must be a whole number"),
        ("count=2&temperature=hot", "temperature must be a finite number"),
        ("count=2&temperature=11", "temperature must be a finite number in [0, 10]"),
        ("count=2&seed=-1", "seed must be a whole number"),
        ("count=2&size=3", "unknown query parameter 'size'"),
    ],
)
def test_bad_query_values_are_400_with_a_reason(url, query, words) -> None:
    answer = call(f"{url}/v1/models/tiny-grey/samples.png?{query}")
    assert answer.status == 400
    assert words in answer.json()["message"]
