"""Counts and cut text as people read them."""

from __future__ import annotations

from yui_lsp.wording import ellipsize, plural


def test_plural() -> None:
    assert [plural(n, "wave") for n in (0, 1, 2)] == ["0 waves", "1 wave", "2 waves"]
    assert plural(2, "entry", "entries") == "2 entries"


def test_ellipsize_cuts_at_a_word_and_says_so() -> None:
    assert ellipsize("short", 10) == "short"
    assert ellipsize("the agent exited with status one", 20) == "the agent exited…"
    assert ellipsize("x" * 30, 10) == "x" * 9 + "…"
    assert len(ellipsize("word " * 50, 40)) <= 40
