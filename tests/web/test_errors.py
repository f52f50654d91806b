"""Server errors are shown in words, in a visible alert, never swallowed (issue 12, item 7)."""

from tests.web.explorer import alert_text, open_explorer

REFUSED_FETCH = r"Failed to load resource: the server responded with a status of 400"


def ask_too_hot(page) -> None:
    """Send a temperature the server refuses (the form's own limit taken off first)."""
    page.eval_on_selector("#sample-temperature", "input => input.removeAttribute('max')")
    page.fill("#sample-temperature", "11")
    page.click("#sample-form button[type=submit]")


def test_a_refused_request_shows_the_servers_message(page, web, console):
    console.expect(REFUSED_FETCH)
    open_explorer(page, web.url, "fashion-mnist")
    ask_too_hot(page)
    text = alert_text(page)
    assert text.startswith("Sampling: ")
    assert "temperature" in text


def test_the_alert_clears_once_a_request_succeeds(page, web, console):
    console.expect(REFUSED_FETCH)
    open_explorer(page, web.url, "fashion-mnist")
    ask_too_hot(page)
    alert_text(page)
    page.fill("#sample-temperature", "1")
    page.click("#sample-form button[type=submit]")
    page.locator("#alert").wait_for(state="hidden")
