"""Line edits: applying what the server sends turns the editor's text into the result."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.server.editor import apply_text_edits
from yui_lsp.server.edits import line_edits

lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "\n", "dd", "é\n", "x\r\n"]), max_size=8)


@given(lines, lines)
def test_edits_turn_old_text_into_new_text(old: list[str], new: list[str]) -> None:
    before, after = "".join(old), "".join(new)
    assert apply_text_edits(before, line_edits(before, after)) == after


def test_unchanged_lines_are_not_touched() -> None:
    edits = line_edits("one\ntwo\nthree\n", "one\n2\nthree\n")
    assert len(edits) == 1
    assert (edits[0].range.start.line, edits[0].range.end.line) == (1, 2)
    assert edits[0].new_text == "2\n"


def test_edit_at_a_last_line_without_newline_ends_at_its_last_column() -> None:
    (edit,) = line_edits("a\nb😀", "a\nc", encoding="utf-16")
    assert (edit.range.end.line, edit.range.end.character) == (1, 3)
