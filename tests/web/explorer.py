"""What a person sees on the explorer page, read through Playwright: open it on a model,
wait for its panels, and read pictures off its <img> and <canvas> elements."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.web.harness import png_pixels

TIMEOUT_MS = 30_000


def open_explorer(page: Any, url: str, model: str) -> None:
    """Load the page on ``model`` and wait until its first samples, manifold and slider
    image are on screen."""
    page.goto(f"{url}/?model={model}")
    page.wait_for_function(
        f"[document.body.dataset.model, document.body.dataset.choice].includes({model!r})",
        timeout=TIMEOUT_MS,
    )
    page.locator("#sample-grid img").first.wait_for(timeout=TIMEOUT_MS)
    wait_painted(page, 1)
    page.wait_for_function("document.getElementById('manifold').width > 0", timeout=TIMEOUT_MS)


def painted(page: Any) -> int:
    """How many times the sliders' image has been painted."""
    return int(page.eval_on_selector("#slider-image", "c => c.dataset.painted || 0"))


def wait_painted(page: Any, times: int) -> None:
    page.wait_for_function(
        f"Number(document.getElementById('slider-image').dataset.painted) >= {times}",
        timeout=TIMEOUT_MS,
    )


def wait_settled(page: Any, quiet_ms: int = 400) -> None:
    """Wait until the sliders' image has stopped changing for ``quiet_ms``."""
    last = -1
    while (now := painted(page)) != last:
        last = now
        page.wait_for_timeout(quiet_ms)


def canvas_pixels(page: Any, selector: str) -> np.ndarray[Any, Any]:
    """A canvas's pixels at its own resolution, as an int array [H, W, 4]."""
    return png_pixels(page.eval_on_selector(selector, "c => c.toDataURL('image/png')"))


def image_sources(page: Any, selector: str) -> list[str]:
    return [str(src) for src in page.eval_on_selector_all(selector, "all => all.map(i => i.src)")]


def alert_text(page: Any) -> str:
    page.locator("#alert").wait_for(state="visible", timeout=TIMEOUT_MS)
    return str(page.text_content("#alert .alert-text"))
