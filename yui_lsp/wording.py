"""How yui words things for people: counts with the right plural, text cut with an ellipsis."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters at a word boundary when it can, ending in ``…``."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"
