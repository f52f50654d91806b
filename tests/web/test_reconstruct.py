"""Encode and reconstruct an uploaded picture: original, reconstruction, latent mean as
bars (issue 12, item 6)."""

import base64
import re

import numpy as np

from tests.web.explorer import TIMEOUT_MS, open_explorer
from tests.web.harness import png_pixels, rows


def test_an_uploaded_png_round_trips_through_encode(page, web, tmp_path):
    open_explorer(page, web.url, "fashion-mnist-conv")
    sampled = web.call(
        "/v1/models/fashion-mnist-conv:sample",
        {"count": 1, "seed": "9", "imageFormat": "IMAGE_FORMAT_PNG"},
    )
    png = base64.b64decode(sampled["images"]["png"]["images"][0])
    upload = tmp_path / "shirt.png"
    upload.write_bytes(png)
    page.set_input_files("#reconstruct-file", str(upload))
    page.locator("#reconstruct-output").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.wait_for_function("document.getElementById('reconstruct-bars').dataset.bars === '32'")

    original = png_pixels(page.get_attribute("#reconstruct-original", "src"))[..., 0]
    assert np.abs(original - png_pixels(png)).max() <= 1
    direct = web.call(
        "/v1/models/fashion-mnist-conv:reconstruct",
        {
            "images": {"png": {"images": [base64.b64encode(png).decode()]}},
            "imageFormat": "IMAGE_FORMAT_PNG",
        },
    )
    shown = png_pixels(page.get_attribute("#reconstruct-output", "src"))
    assert np.abs(shown - png_pixels(direct["images"]["png"]["images"][0])).max() <= 2
    label = page.get_attribute("#reconstruct-bars", "aria-label")
    bars = [float(value) for value in re.findall(r"z\d+ (-?[\d.]+)", label)]
    assert np.allclose(bars, rows(direct["mean"])[0], atol=0.006)


def test_the_bars_are_drawn_on_the_canvas(page, web, tmp_path):
    open_explorer(page, web.url, "faces")
    upload = tmp_path / "face.png"
    sampled = web.call(
        "/v1/models/faces:sample", {"count": 1, "seed": "2", "imageFormat": "IMAGE_FORMAT_PNG"}
    )
    upload.write_bytes(base64.b64decode(sampled["images"]["png"]["images"][0]))
    page.set_input_files("#reconstruct-file", str(upload))
    page.wait_for_function(
        "document.getElementById('reconstruct-bars').dataset.bars === '16'", timeout=TIMEOUT_MS
    )
    inked = page.eval_on_selector(
        "#reconstruct-bars",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""",
    )
    assert inked > 200


def test_the_encoding_opens_in_the_sliders(page, web, tmp_path):
    open_explorer(page, web.url, "faces")
    upload = tmp_path / "face.png"
    sampled = web.call(
        "/v1/models/faces:sample", {"count": 1, "seed": "4", "imageFormat": "IMAGE_FORMAT_PNG"}
    )
    upload.write_bytes(base64.b64decode(sampled["images"]["png"]["images"][0]))
    page.set_input_files("#reconstruct-file", str(upload))
    page.locator("#reconstruct-to-sliders:not([disabled])").click(timeout=TIMEOUT_MS)
    assert "face.png" in page.text_content("#sliders-origin")
