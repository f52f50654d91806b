"""The edge's own rules for the status it sends."""

from __future__ import annotations

from vaeserve.server.errors import shown
from vaeserve.server.rpc.status import MAX_DETAILS_BYTES, fit_for_trailer


def test_a_short_message_is_sent_as_it_is() -> None:
    assert fit_for_trailer("no model named 'x'") == "no model named 'x'"


def test_a_long_message_is_cut_on_a_character_boundary_and_says_so() -> None:
    cut = fit_for_trailer("\u20ac" * MAX_DETAILS_BYTES)
    assert len(cut.encode()) <= MAX_DETAILS_BYTES + 16
    assert cut.endswith("(cut)")
    assert set(cut.removesuffix(" ... (cut)")) == {"\u20ac"}


def test_a_client_value_is_shown_in_ascii_and_cut_short() -> None:
    assert shown("faces") == "'faces'"
    assert shown("\u00e9") == "'\\xe9'"
    long = shown("a" * 10_000)
    assert len(long) < 120
    assert long.endswith("(10002 characters)")
