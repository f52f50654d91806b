"""Readable on a laptop and a phone, usable with the keyboard (issue 12, item 8)."""

import pytest

from tests.web.explorer import open_explorer, painted, wait_painted


@pytest.mark.parametrize("width", [390, 1366])
def test_the_page_fits_the_screen_width(page, web, width):
    page.set_viewport_size({"width": width, "height": 900})
    open_explorer(page, web.url, "fashion-mnist-conv")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_explorer_works_from_the_keyboard(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    page.focus("#sample-new-seed")
    seed = page.input_value("#sample-seed")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.getElementById('sample-seed').value !== {seed!r}")
    count = painted(page)
    page.focus("#sliders input[data-dim='1']")
    page.keyboard.press("ArrowLeft")
    wait_painted(page, count + 1)
    page.focus("#manifold")
    page.keyboard.press("ArrowUp")
    assert "z = (" in page.text_content("#loupe-caption")


def test_the_page_loads_nothing_from_other_hosts(page, web):
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    open_explorer(page, web.url, "faces")
    assert hosts <= {web.url.split("/")[2]}
