"""Take reports/figures/explorer.png: the explorer page with every panel in use.

Starts a real server with its HTTP port (or uses ``--url``), opens the page in Debian's
chromium on ``fashion-mnist-2d``, picks two samples to interpolate, reconstructs one
sample uploaded as a PNG, moves a slider and hovers the manifold, then saves the page.
Run: ``python -m tests.web.screenshot``.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
from pathlib import Path
from typing import Any

from tests.web import harness
from tests.web.explorer import TIMEOUT_MS, open_explorer, painted, wait_painted, wait_settled
from tests.web.measure_slider import target

FIGURE = Path(__file__).resolve().parents[2] / "reports" / "figures" / "explorer.png"


def stage(page: Any, url: str, model: str, upload: Path) -> None:
    open_explorer(page, url, model)
    page.locator("#sample-grid .tile").nth(0).click()
    page.locator("#sample-grid .tile").nth(5).click()
    page.click("#sample-to-interpolation")
    page.locator("#interpolation-strip img").first.wait_for(timeout=TIMEOUT_MS)
    page.click("#morph-toggle")  # a still frame for the picture
    page.set_input_files("#reconstruct-file", str(upload))
    page.locator("#reconstruct-output").wait_for(state="visible", timeout=TIMEOUT_MS)
    before = painted(page)
    page.focus("#sliders input[data-dim='0']")
    for _ in range(80):
        page.keyboard.press("ArrowLeft")
    wait_painted(page, before + 1)
    wait_settled(page)
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#manifold").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.25)
    page.wait_for_function(
        "!document.getElementById('loupe-caption').textContent.includes('(0.00, 0.00)')"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="use this running server instead of starting one")
    parser.add_argument("--model", default="fashion-mnist-2d")
    parser.add_argument("--out", type=Path, default=FIGURE)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with target(args.url) as url, tempfile.TemporaryDirectory() as folder, sync_playwright() as pw:
        reply = harness.call(
            url,
            f"/v1/models/{args.model}:sample",
            {"count": 1, "seed": "11", "imageFormat": "IMAGE_FORMAT_PNG"},
        )
        upload = Path(folder) / "sample.png"
        upload.write_bytes(base64.b64decode(reply["images"]["png"]["images"][0]))
        browser = pw.chromium.launch(
            executable_path=str(harness.CHROMIUM), args=harness.CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1360, "height": 900}, color_scheme="light")
        stage(page, url, args.model, upload)
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
