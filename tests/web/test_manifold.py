"""The manifold: the decoder over a quantile grid, hover or click to see a point large
(issue 12, item 3)."""

import numpy as np

from tests.web.explorer import TIMEOUT_MS, canvas_pixels, open_explorer


def tiles(page, model_size: int) -> tuple[np.ndarray, int]:
    pixels = canvas_pixels(page, "#manifold")[..., 0]
    return pixels, pixels.shape[0] // model_size


def tile(pixels: np.ndarray, size: int, col: int, row: int) -> np.ndarray:
    return pixels[row * size : (row + 1) * size, col * size : (col + 1) * size]


def test_manifold_corners_differ_from_its_centre(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    pixels, n = tiles(page, 28)
    assert n == int(page.input_value("#manifold-size"))
    centre = tile(pixels, 28, n // 2, n // 2)
    for col, row in [(0, 0), (n - 1, 0), (0, n - 1), (n - 1, n - 1)]:
        assert np.abs(tile(pixels, 28, col, row) - centre).mean() > 5


def test_hovering_a_point_shows_its_decoded_image_large(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    pixels, _ = tiles(page, 28)
    box = page.locator("#manifold").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)  # the top-left point
    page.wait_for_function(
        "document.getElementById('loupe-caption').textContent.includes('z = (-')"
    )
    loupe = canvas_pixels(page, "#loupe")[..., 0]
    assert np.array_equal(loupe, tile(pixels, 28, 0, 0))
    assert page.locator("#loupe").bounding_box()["width"] > 28 * 3  # shown large


def test_a_larger_latent_scans_a_plane_through_two_chosen_dimensions(page, web):
    open_explorer(page, web.url, "faces")
    page.select_option("#manifold-mode", "dims")
    page.select_option("#manifold-x", "2")
    page.select_option("#manifold-y", "5")
    page.fill("#manifold-size", "7")
    page.click("#manifold-form button[type=submit]")
    page.wait_for_function(
        "document.getElementById('manifold-note').textContent.startsWith('7 \u00d7 7')",
        timeout=TIMEOUT_MS,
    )
    assert "z2 across, z5 up" in page.text_content("#manifold-note")
    pixels, n = tiles(page, 25)
    assert n == 7
    assert np.abs(tile(pixels, 25, 0, 0) - tile(pixels, 25, 3, 3)).mean() > 1


def test_random_directions_give_a_plane_whose_corners_differ(page, web):
    open_explorer(page, web.url, "fashion-mnist-conv")
    page.select_option("#manifold-mode", "random")
    page.click("#manifold-form button[type=submit]")
    page.wait_for_function(
        "document.getElementById('manifold-note').textContent.includes('random direction')",
        timeout=TIMEOUT_MS,
    )
    pixels, n = tiles(page, 28)
    assert np.abs(tile(pixels, 28, 0, 0) - tile(pixels, 28, n - 1, n - 1)).mean() > 5
