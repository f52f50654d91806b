"""Sliders per latent dimension, decoded live, the latest position always shown (item 4)."""

import numpy as np

from tests.web.explorer import (
    canvas_pixels,
    open_explorer,
    painted,
    wait_painted,
    wait_settled,
)
from tests.web.harness import floats, rows


def decoded(web, model: str, point: list[float]) -> np.ndarray:
    """The server's own Decode of one latent point, as 8-bit grey pixels [H, W]."""
    reply = web.call(
        f"/v1/models/{model}:decode",
        {"latents": {"shape": ["1", str(len(point))], "data": floats(point)}},
    )
    image = rows(reply["images"]["tensor"])[0, 0]
    pixels: np.ndarray = np.rint(np.clip(image, 0, 1) * 255).astype(np.int16)
    return pixels


def slider_values(page) -> list[float]:
    values = page.eval_on_selector_all("#sliders input", "all => all.map(i => Number(i.value))")
    return [float(value) for value in values]


def test_moving_a_slider_with_the_keyboard_changes_the_decoded_canvas(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    before = canvas_pixels(page, "#slider-image")
    count = painted(page)
    page.focus("#sliders input[data-dim='0']")
    for _ in range(100):
        page.keyboard.press("ArrowRight")
    wait_painted(page, count + 1)
    wait_settled(page)
    assert not np.array_equal(canvas_pixels(page, "#slider-image"), before)


def test_a_drag_ends_showing_the_decode_of_the_last_position(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    track = page.locator("#sliders input[data-dim='1']").bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] / 2, y)
    page.mouse.down()
    for step in range(40):  # a quick drag: far more moves than decodes can keep up with
        page.mouse.move(track["x"] + track["width"] * (0.5 - step / 100), y)
    page.mouse.up()
    wait_settled(page)
    shown = canvas_pixels(page, "#slider-image")[..., 0]
    expected = decoded(web, "fashion-mnist-2d", slider_values(page))
    assert np.abs(shown - expected).max() <= 1


def test_every_dimension_of_a_small_latent_has_a_slider(page, web):
    open_explorer(page, web.url, "faces")
    info = web.call("/v1/models/faces")
    assert page.locator("#sliders input[type=range]").count() == info["latentDim"]


def test_a_large_latent_shows_a_chosen_subset_of_sliders(page, web):
    open_explorer(page, web.url, "fashion-mnist")
    shown = page.locator("#sliders input[type=range]").count()
    assert 0 < shown < web.call("/v1/models/fashion-mnist")["latentDim"]
    page.click("#slider-dims summary")
    page.locator("#slider-dims input[type=checkbox]").nth(20).check()
    assert page.locator("#sliders input[data-dim='20']").count() == 1
    assert page.locator("#sliders input[type=range]").count() == shown + 1


def test_sliders_start_from_a_sample_picked_in_the_grid(page, web):
    open_explorer(page, web.url, "faces")
    count = painted(page)
    page.locator("#sample-grid .tile").nth(2).click()
    page.click("#sample-to-sliders")
    wait_painted(page, count + 1)
    wait_settled(page)
    reply = web.call("/v1/models/faces:sample", {"count": 16, "seed": "1", "temperature": 0.8})
    expected = np.clip(rows(reply["latents"])[2], -3, 3)
    assert np.allclose(slider_values(page), expected, atol=0.006)
    assert "sample 3" in page.text_content("#sliders-origin")
