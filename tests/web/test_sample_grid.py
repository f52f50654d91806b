"""The sample grid: count, seed and temperature, and a new-seed button (issue 12, item 2)."""

from tests.web.explorer import TIMEOUT_MS, image_sources, open_explorer


def sample(page, count: int, seed: int, temperature: float) -> list[str]:
    page.fill("#sample-count", str(count))
    page.fill("#sample-seed", str(seed))
    page.fill("#sample-temperature", str(temperature))
    page.click("#sample-form button[type=submit]")
    page.wait_for_function(
        f"document.querySelectorAll('#sample-grid img').length === {count}", timeout=TIMEOUT_MS
    )
    shown: list[str] = image_sources(page, "#sample-grid img")
    return shown


def test_sample_grid_holds_count_distinct_images(page, web):
    open_explorer(page, web.url, "fashion-mnist-conv")
    images = sample(page, 12, 3, 1.0)
    assert len(images) == 12
    assert len(set(images)) == 12


def test_the_same_seed_gives_the_same_grid_as_the_api(page, web):
    open_explorer(page, web.url, "fashion-mnist-conv")
    shown = sample(page, 6, 42, 0.7)
    reply = web.call(
        "/v1/models/fashion-mnist-conv:sample",
        {"count": 6, "seed": "42", "temperature": 0.7, "imageFormat": "IMAGE_FORMAT_PNG"},
    )
    assert [src.split(",", 1)[1] for src in shown] == reply["images"]["png"]["images"]


def test_new_seed_button_draws_a_new_grid(page, web):
    open_explorer(page, web.url, "fashion-mnist-conv")
    before = sample(page, 8, 5, 1.0)
    page.click("#sample-new-seed")
    page.wait_for_function("document.getElementById('sample-seed').value !== '5'")
    page.wait_for_function(
        f"document.querySelector('#sample-grid img').src !== {before[0]!r}", timeout=TIMEOUT_MS
    )
    assert len(set(image_sources(page, "#sample-grid img")) & set(before)) == 0


def test_images_have_alt_texts(page, web):
    open_explorer(page, web.url, "faces")
    alts = page.eval_on_selector_all("img:not([hidden])", "images => images.map(i => i.alt)")
    assert alts
    assert all(alt.strip() for alt in alts)
