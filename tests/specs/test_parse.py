"""Reading tasks.md of both formats, ticking boxes byte-exactly, inferring dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yui_lsp.protocol import LineEdit
from yui_lsp.specs import (
    Spec,
    SpecError,
    SpecFormat,
    build_plan,
    load_spec,
    parse_tasks,
    tick,
)
from yui_lsp.specs.files import files_named
from yui_lsp.specs.parse import decode, encode
from yui_lsp.specs.plan import tick_edits
from yui_lsp.workspace.lineedits import apply_line_edits

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "specs"


def sample(name: str, fmt: SpecFormat) -> Spec:
    folder = SAMPLES / name
    text = (folder / "tasks.md").read_text(encoding="utf-8")
    return Spec(name=name, format=fmt, folder=folder, rel=f"specs/{name}",
                tasks=parse_tasks(text))


def test_kiro_sample_reads_parents_optional_checkpoint_and_references() -> None:
    spec = sample("kiro", SpecFormat.KIRO)
    keys = [t.key for t in spec.tasks]
    assert keys == ["1", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5", "6",
                    "6.1", "6.2", "7", "8"]
    assert spec.task("1") is not None and spec.task("1").done  # type: ignore[union-attr]
    # 2.1 is not indented: its number still makes it a sub-task of 2.
    assert spec.task("2").children == ["2.1", "2.2"]  # type: ignore[union-attr]
    assert spec.task("3.2").optional  # type: ignore[union-attr]
    assert spec.task("5").checkpoint  # type: ignore[union-attr]
    four_one = spec.task("4.1")
    assert four_one is not None
    assert four_one.requirements == ["1.1", "2.1", "2.2", "2.3"]
    assert four_one.depends == ["2.1", "3.1"]
    assert four_one.files == ["app/api.py"]
    assert "POST /todos" in four_one.text
    assert (spec.done_count, len(spec.counted)) == (1, 12)


def test_spec_kit_sample_reads_phases_parallel_stories_and_done_marks() -> None:
    spec = sample("spec-kit", SpecFormat.SPEC_KIT)
    assert len(spec.tasks) == 19
    first, t003, t011 = spec.task("T001"), spec.task("T003"), spec.task("T011")
    assert first is not None and first.done  # "[X]"
    assert t003 is not None and t003.parallel and t003.phase == 1
    assert t011 is not None and t011.story == "US1" and not t011.parallel
    assert t011.depends == ["T009", "T010"]
    assert t011.files == ["backend/src/services/album_service.py"]
    assert "FR-001" in t011.text  # continuation line
    assert {t.phase for t in spec.tasks} == {1, 2, 3, 4, 5}


def test_kiro_edges_and_claims() -> None:
    plan = build_plan(SAMPLES, sample("kiro", SpecFormat.KIRO))
    edges = {(e.task, e.after) for e in plan.edges}
    assert {("2.2", "2.1"), ("4.1", "2.1"), ("4.1", "3.1"), ("4.2", "4.1"),
            ("6.1", "5"), ("8", "5")} <= edges
    claims = {plan.keys[t.id]: t.claims for t in plan.plan.tasks}
    assert claims["2.1"] == ["app/models.py"]
    assert claims["8"] == ["**"]  # names no file: runs alone
    assert "3.2" not in claims  # optional
    with_optional = build_plan(SAMPLES, sample("kiro", SpecFormat.KIRO), include_optional=True)
    assert "kiro-3.2" in with_optional.keys


def test_spec_kit_edges_follow_phases_and_p_markers() -> None:
    plan = build_plan(SAMPLES, sample("spec-kit", SpecFormat.SPEC_KIT))
    edges = {(e.task, e.after) for e in plan.edges}
    assert ("T005", "T004") in edges and ("T006", "T004") in edges  # [P] after the serial one
    assert ("T006", "T005") not in edges  # [P] tasks of a phase run together
    assert ("T012", "T011") in edges  # no [P]: in order
    assert ("T007", "T005") in edges and ("T007", "T006") in edges  # phases in order


def test_only_selects_a_parent_as_its_sub_tasks() -> None:
    plan = build_plan(SAMPLES, sample("kiro", SpecFormat.KIRO), only=["2", "4.1"])
    assert sorted(plan.keys.values()) == ["2.1", "2.2", "4.1"]
    # 4.1 waits for 2.1, which runs; 3.1 is not selected and not done: 4.1 runs anyway.
    assert {(e.task, e.after) for e in plan.edges} == {("2.2", "2.1"), ("4.1", "2.1")}


def test_files_named_in_backticks_arrows_and_prose() -> None:
    text = ("Write `tests/test_api.py` → docs/api.md, then README.md. Not 1.2, user.id, "
            "https://x.y/z.py, [entity].py, `parseUser`, add/list/complete; the src/web/ folder")
    assert files_named(text) == ["tests/test_api.py", "docs/api.md", "README.md", "src/web/**"]


def test_parent_ticks_only_with_its_last_required_sub_task() -> None:
    spec = sample("kiro", SpecFormat.KIRO)
    text = (SAMPLES / "kiro" / "tasks.md").read_text()
    three_one = spec.task("3.1")
    assert three_one is not None
    # 3.2 is optional: 3.1 alone completes 3.
    after = apply_line_edits(text, tick_edits(spec, three_one))
    assert "- [x] 3. Build" in after and "[x] 3.1" in after
    two_one = spec.task("2.1")
    assert two_one is not None
    after = apply_line_edits(text, tick_edits(spec, two_one))
    assert "- [ ] 2. Implement" in after  # 2.2 is still open
    two_two = spec.task("2.2")
    assert two_two is not None
    after = apply_line_edits(after, tick_edits(spec, two_two))
    assert "- [x] 2. Implement" in after


def test_line_edit_finds_its_line_after_the_user_moved_it() -> None:
    edit = LineEdit(path="t.md", line=0, old="- [ ] 1. A", new="- [x] 1. A")
    text = "# notes the user added\n\n- [ ] 1. A\r\n- [ ] 2. B\n"
    assert apply_line_edits(text, [edit]) == "# notes the user added\n\n- [x] 1. A\r\n- [ ] 2. B\n"
    assert apply_line_edits("- [ ] 1. A renamed\n", [edit]) == "- [ ] 1. A renamed\n"


def test_odd_but_common_lines_are_read_leniently() -> None:
    text = ("* [-] 1. Started in the IDE\n"
            "- [ ] **2.** Bold number\n"
            "- [] not a task\n"
            "1. [ ] 3. Numbered list item\n"
            "- [ ] A task without a number\n")
    tasks = parse_tasks(text)
    assert [(t.key, t.done) for t in tasks] == [("1", False), ("2", False), ("3", False),
                                               ("L5", False)]
    assert tick(text, tasks[0]).startswith("* [x] 1. Started")


def test_a_byte_order_mark_does_not_hide_the_first_task_or_heading() -> None:
    raw = encode("\ufeff- [ ] 1. First\n- [ ] 2. Second\n")  # as Notepad saves UTF-8
    tasks = parse_tasks(decode(raw))
    assert [(t.key, t.title) for t in tasks] == [("1", "First"), ("2", "Second")]
    assert encode(tick(decode(raw), tasks[0])) == raw.replace(b"[ ] 1.", b"[x] 1.")
    headed = parse_tasks("\ufeff## Phase 1: Setup\n- [ ] T001 Do it\n")
    assert [(t.key, t.phase) for t in headed] == [("T001", 1)]


# ----------------------------------------------------------------------------- properties

_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"),
                max_size=30)
_LINE = st.one_of(
    st.builds(lambda i, m, star, key, title: f"{' ' * i}- [{m}]{star} {key} {title}",
              st.integers(0, 6), st.sampled_from(" xX"), st.sampled_from(["", "*"]),
              st.sampled_from(["1.", "1.1", "2", "T001", "T002 [P] [US1]", ""]), _TEXT),
    st.builds(lambda h, t: f"{'#' * h} {t}", st.integers(1, 3), _TEXT),
    _TEXT,
    st.just(""),
    st.builds(lambda t: f"    _Requirements: 1.1, {t}_", _TEXT),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_LINE, max_size=25), crlf=st.booleans(), junk=st.binary(max_size=4))
def test_tick_changes_one_byte_and_keeps_every_other(lines: list[str], crlf: bool,
                                                     junk: bytes) -> None:
    raw = encode(("\r\n" if crlf else "\n").join(lines)) + junk
    text = decode(raw)
    tasks = parse_tasks(text)
    for task in tasks:
        if task.done:
            continue
        ticked = encode(tick(text, task))
        assert len(ticked) == len(raw)
        diff = [i for i, (a, b) in enumerate(zip(raw, ticked, strict=True)) if a != b]
        assert len(diff) == 1 and ticked[diff[0]:diff[0] + 1] == b"x"
        reparsed = {t.line: t.done for t in parse_tasks(decode(ticked))}
        assert reparsed[task.line] is True
        # The line edit a task carries lands the same byte.
        edit = LineEdit(path="t.md", line=task.line, old=task.line_text,
                        new=task.line_text[:task.mark_col] + "x"
                        + task.line_text[task.mark_col + 1:])
        assert encode(apply_line_edits(text, [edit])) == ticked or any(
            t.line_text == task.line_text and t.line != task.line for t in tasks)


def test_a_spec_name_with_a_nul_byte_is_no_spec(tmp_path: Path) -> None:
    # The path calls behind the lookup raised ValueError ("embedded null byte") for it.
    with pytest.raises(SpecError, match="no spec named"):
        load_spec(tmp_path, "todo\x00/../x")
