"""Interpolation between two images: samples from the grid or uploaded pictures, linear
or spherical, the strip and the morph (issue 12, item 5)."""

import base64

import numpy as np
from PIL import Image

from tests.web.explorer import TIMEOUT_MS, image_sources, open_explorer
from tests.web.harness import floats, png_pixels, rows


def wait_strip(page, steps: int) -> list[str]:
    page.wait_for_function(
        f"document.querySelectorAll('#interpolation-strip img').length === {steps}",
        timeout=TIMEOUT_MS,
    )
    shown: list[str] = image_sources(page, "#interpolation-strip img")
    return shown


def test_strip_starts_and_ends_at_the_decode_of_its_endpoints(page, web):
    open_explorer(page, web.url, "fashion-mnist-conv")
    page.fill("#interpolation-steps", "7")
    page.locator("#sample-grid .tile").nth(1).click()
    page.locator("#sample-grid .tile").nth(4).click()
    page.click("#sample-to-interpolation")
    strip = wait_strip(page, 7)
    sampled = web.call(
        "/v1/models/fashion-mnist-conv:sample", {"count": 16, "seed": "1", "temperature": 0.8}
    )
    ends = rows(sampled["latents"])[[1, 4]]
    reply = web.call(
        "/v1/models/fashion-mnist-conv:decode",
        {
            "latents": {"shape": ["2", str(ends.shape[1])], "data": floats(ends.tolist())},
            "imageFormat": "IMAGE_FORMAT_PNG",
        },
    )
    first, last = (png_pixels(png) for png in reply["images"]["png"]["images"])
    assert np.abs(png_pixels(strip[0]) - first).max() <= 1
    assert np.abs(png_pixels(strip[-1]) - last).max() <= 1
    assert not np.array_equal(png_pixels(strip[3]), first)


def test_two_uploaded_pictures_are_resized_and_walked_spherically(page, web, tmp_path):
    open_explorer(page, web.url, "fashion-mnist")
    ramp = np.linspace(0, 255, 120, dtype=np.uint8)
    files = [tmp_path / "across.png", tmp_path / "down.png"]
    Image.fromarray(np.tile(ramp, (90, 1))).convert("RGB").save(files[0])  # 120 x 90, RGB
    Image.fromarray(np.tile(ramp[:90, None], (1, 60))).save(files[1])  # 60 x 90, grey
    page.set_input_files(".endpoint[data-end='0'] input", str(files[0]))
    page.set_input_files(".endpoint[data-end='1'] input", str(files[1]))
    page.locator(".endpoint[data-end='1'] img").wait_for(state="visible")
    shown = png_pixels(page.get_attribute(".endpoint[data-end='0'] img", "src"))
    assert shown.shape[:2] == (28, 28)
    page.select_option("#interpolation-method", "INTERPOLATION_METHOD_SPHERICAL")
    page.fill("#interpolation-steps", "5")
    page.click("#interpolation-form button[type=submit]")
    strip = wait_strip(page, 5)
    assert len({base64.b64decode(src.split(",")[1]) for src in strip}) == 5
    assert "across.png" in page.get_attribute("#interpolation-strip img", "alt")


def test_the_morph_plays_through_the_strip(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    page.locator("#sample-grid .tile").nth(0).click()
    page.locator("#sample-grid .tile").nth(3).click()
    page.click("#sample-to-interpolation")
    strip = wait_strip(page, 10)
    assert page.get_attribute("#morph-toggle", "aria-pressed") == "true"
    seen = set()
    for _ in range(20):
        seen.add(page.get_attribute("#morph", "src"))
        page.wait_for_timeout(60)
    assert len(seen & set(strip)) >= 3
    page.click("#morph-toggle")
    assert page.get_attribute("#morph-toggle", "aria-pressed") == "false"


def test_interpolating_without_endpoints_says_what_is_missing(page, web):
    open_explorer(page, web.url, "faces")
    page.click("#interpolation-form button[type=submit]")
    page.locator("#alert").wait_for(state="visible")
    assert "choose two endpoints" in page.text_content("#alert")


def test_a_picture_dropped_on_an_endpoint_becomes_it(page, web):
    open_explorer(page, web.url, "fashion-mnist")
    reply = web.call(
        "/v1/models/fashion-mnist:sample",
        {"count": 1, "seed": "8", "imageFormat": "IMAGE_FORMAT_PNG"},
    )
    png = reply["images"]["png"]["images"][0]
    page.evaluate(
        """async (png) => {
            const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
            const zone = document.querySelector(".endpoint[data-end='1']");
            for (const kind of ["dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true }));
            }
        }""",
        png,
    )
    shown = page.locator(".endpoint[data-end='1'] img")
    shown.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "dropped.png" in shown.get_attribute("alt")
    assert np.abs(png_pixels(shown.get_attribute("src"))[..., 0] - png_pixels(png)).max() <= 1
