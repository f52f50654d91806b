"""The page works for any model the server lists: several versions, colour, other sizes
(the tiny test repository: tiny-grey 1x8x8 in versions 1 and 2, tiny-rgb 3x8x8)."""

import numpy as np

from tests.web.explorer import TIMEOUT_MS, canvas_pixels, open_explorer


def test_each_served_version_has_its_own_entry(page, tiny_web):
    open_explorer(page, tiny_web.url, "tiny-grey")
    offered = page.eval_on_selector_all("#model option", "all => all.map(o => o.textContent)")
    assert offered == ["tiny-grey v1", "tiny-grey v2", "tiny-rgb"]
    assert "Version2 of 1, 2" in page.text_content("#model-info")  # the highest by default


def test_choosing_an_older_version_serves_it(page, tiny_web):
    open_explorer(page, tiny_web.url, "tiny-grey@1")
    assert "Version1 of 1, 2" in page.text_content("#model-info")
    page.click("#sample-form button[type=submit]")
    page.locator("#sample-grid img").first.wait_for(timeout=TIMEOUT_MS)
    assert page.is_hidden("#alert")


def test_a_colour_model_is_painted_in_colour(page, tiny_web):
    open_explorer(page, tiny_web.url, "tiny-rgb")
    assert "8 \N{MULTIPLICATION SIGN} 8, RGB" in page.text_content("#model-info")
    pixels = canvas_pixels(page, "#manifold")
    assert pixels.shape[:2] == (8 * 15, 8 * 15)
    assert np.abs(pixels[..., 0] - pixels[..., 1]).max() > 0  # not grey
