"""A server with a bearer token: the page asks once, keeps the token for the session, and
says so when it is wrong (issue 12, item 7)."""

from tests.web.explorer import TIMEOUT_MS, alert_text, open_explorer
from tests.web.harness import TOKEN

REFUSED_FETCH = r"Failed to load resource: the server responded with a status of 401"


def answer(page, token: str) -> None:
    page.locator("#token-dialog").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.fill("#token-dialog input", token)
    page.click("#token-dialog button[value=use]")


def test_a_wrong_token_shows_an_error(page, token_web, console):
    console.expect(REFUSED_FETCH)  # chromium logs every 401 reply; the page must not
    page.goto(token_web.url + "/")
    answer(page, "not-the-token")
    assert "token" in alert_text(page).lower()
    assert page.evaluate("sessionStorage.getItem('vaeserve.token')") is None


def test_the_right_token_is_asked_for_once_and_kept_for_the_session(page, token_web, console):
    console.expect(REFUSED_FETCH)
    page.goto(token_web.url + "/?model=faces")
    answer(page, TOKEN)
    page.locator("#sample-grid img").first.wait_for(timeout=TIMEOUT_MS)
    page.reload()
    open_explorer(page, token_web.url, "faces")
    assert page.locator("#token-dialog").is_hidden()
    assert page.is_hidden("#alert")


def test_cancelling_the_token_form_says_the_server_needs_one(page, token_web, console):
    console.expect(REFUSED_FETCH)
    page.goto(token_web.url + "/")
    page.locator("#token-dialog").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.click("#token-dialog button[value=cancel]")
    assert "bearer token" in alert_text(page)
