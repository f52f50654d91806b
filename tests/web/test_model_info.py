"""Picking a model shows what it is (issue 12, item 1)."""

from tests.web.explorer import open_explorer


def test_model_picker_lists_every_served_model(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    served = [m["name"] for m in web.call("/v1/models")["models"]]
    offered = page.eval_on_selector_all("#model option", "options => options.map(o => o.value)")
    assert offered == served


def test_page_shows_dataset_image_size_latent_size_and_elbo(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    info = web.call("/v1/models/fashion-mnist-2d")
    facts = page.text_content("#model-info")
    assert info["dataset"] in facts
    assert f"{info['width']} \N{MULTIPLICATION SIGN} {info['height']}" in facts
    assert f"Latent size{info['latentDim']}" in facts
    assert f"{info['testNegativeElboNats']:.2f} nats/image" in facts


def test_choosing_another_model_shows_its_facts(page, web):
    open_explorer(page, web.url, "fashion-mnist-2d")
    page.select_option("#model", "faces")
    page.wait_for_function("document.body.dataset.model === 'faces'")
    info = web.call("/v1/models/faces")
    assert f"Latent size{info['latentDim']}" in page.text_content("#model-info")
