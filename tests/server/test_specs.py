"""Specs in the editor, end to end through the real server: lenses on an open tasks.md,
`yui.runSpec` running the Kiro double in parallel, ticks landing in the open buffer while the
user types in it, state diagnostics and hover, and a rerun that does only what is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import EditorFactory
from tests.server.editor import Editor, plain
from tests.specs.samples import agent_env, boxes, spec_repo

KIRO_MD = ".kiro/specs/shop/tasks.md"
KIT_MD = "specs/001-albums/tasks.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return spec_repo(tmp_path / "work")


async def lenses(editor: Editor, rel: str) -> list[tuple[int, str, Any]]:
    found = await editor.client.text_document_code_lens_async(lsp.CodeLensParams(
        text_document=lsp.TextDocumentIdentifier(uri=editor.uri(rel))))
    return [(lens.range.start.line, lens.command.title, plain(lens.command.arguments))
            for lens in found or [] if lens.command is not None]


def line_of(text: str, key: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if f"] {key} " in line)


def spec_diagnostics(editor: Editor, rel: str) -> list[lsp.Diagnostic]:
    return [d for d in editor.client.diagnostics.get(editor.uri(rel), [])
            if d.code == "spec-task"]


def statuses(editor: Editor, task_ids: list[str], keys: list[str]) -> dict[str, str]:
    """Key -> last status of each task."""
    found = {}
    for task_id, key in zip(task_ids, keys, strict=True):
        updates = editor.updates(task_id)
        found[key] = updates[-1]["status"] if updates else "none"
    return found


async def test_kiro_spec_from_the_editor(open_editor: EditorFactory, root: Path,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = agent_env(tmp_path, parties=4, fail=True)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    editor = await open_editor(root=root)
    editor.open(KIRO_MD)
    await editor.run("yui.listSpecs", {})  # answers once the folder's coordinator is up
    shown = await lenses(editor, KIRO_MD)
    assert (0, "▶▶ Run 12 tasks in parallel (5 waves)", [{"spec": editor.uri(KIRO_MD)}]) \
        in shown
    text = editor.text(KIRO_MD)
    run_lines = {line for line, title, _ in shown if title == "▶ Run task"}
    assert line_of(text, "2.1") in run_lines and line_of(text, "6.") not in run_lines

    answer = await editor.run("yui.runSpec", {"spec": editor.uri(KIRO_MD), "maxWorkers": 4})
    assert "taskIds" in answer, answer
    ids, keys = answer["taskIds"], answer["keys"]
    assert len(ids) == 12 and answer["waves"] == 5
    first_done = ids[keys.index("1.1")]
    await editor.finished(first_done, timeout=120)
    # The user types while results land: a line on top, a note at the end.
    typed = "<!-- reviewed by me -->\n" + editor.text(KIRO_MD) + "\nMy own note.\n"
    editor.type(KIRO_MD, typed)
    for task_id in ids:
        await editor.ended_after(task_id, 0, timeout=120)
    final = statuses(editor, ids, keys)
    assert len(list((tmp_path / "barrier" / "models").iterdir())) == 4  # ran at once
    assert final["2.2"] == "failed"
    for dependent in ("3", "4.1", "4.2", "5"):
        assert not any(u["status"] == "running"
                       for u in editor.updates(ids[keys.index(dependent)]))
    text = editor.text(KIRO_MD)
    assert text.startswith("<!-- reviewed by me -->\n") and text.endswith("\nMy own note.\n")
    assert {k for k, v in boxes(text).items() if v} == {"1", "1.1", "1.2", "1.3", "1.4", "2.1",
                                                       "2.3", "2.4", "6"}
    # The failure shows on its line; the tasks that landed show nothing any more.
    diagnostics = await editor.until(lambda: [d for d in spec_diagnostics(editor, KIRO_MD)
                                              if d.range.start.line == line_of(text, "2.2")])
    assert diagnostics[0].severity == lsp.DiagnosticSeverity.Error
    assert not [d for d in spec_diagnostics(editor, KIRO_MD)
                if d.range.start.line == line_of(text, "2.1")]
    hover = await editor.client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=editor.uri(KIRO_MD)),
        position=lsp.Position(line=line_of(text, "2.1"), character=4)))
    assert hover is not None
    value = hover.contents.value  # type: ignore[union-attr]
    assert "completed" in value and "agent: kiro" in value and "app/user_service.py" in value

    Path(env["SPEC_FAIL_FLAG"]).unlink()
    again = await editor.run("yui.runSpec", {"spec": "shop", "maxWorkers": 4})
    assert sorted(again["keys"]) == ["2.2", "3", "4.1", "4.2", "5"]
    for task_id in again["taskIds"]:
        assert (await editor.finished(task_id, timeout=120))["status"] == "completed"
    text = editor.text(KIRO_MD)
    assert [k for k, v in boxes(text).items() if not v] == ["4.3"]
    assert text.endswith("\nMy own note.\n")
    await editor.until(lambda: not spec_diagnostics(editor, KIRO_MD))


async def test_spec_kit_feature_and_list_from_the_editor(
    open_editor: EditorFactory, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in agent_env(tmp_path, parties=4, fail=False).items():
        monkeypatch.setenv(name, value)
    editor = await open_editor(root=root)
    listed = await editor.run("yui.listSpecs", {})
    summary = {s["name"]: (s["format"], s["done"], s["total"]) for s in listed["specs"]}
    assert summary == {"shop": ("kiro", 1, 14), "001-albums": ("spec-kit", 1, 8)}
    editor.open(KIT_MD)
    answer = await editor.run("yui.runSpec", {"spec": "001-albums", "maxWorkers": 4})
    # Asked again while it runs: nothing starts twice.
    twice = await editor.run("yui.runSpec", {"spec": "001-albums"})
    assert twice["taskIds"] == [] and "T002: already running" in twice["skipped"]
    for task_id in answer["taskIds"]:
        assert (await editor.finished(task_id, timeout=120))["status"] == "completed"
    assert len(list((tmp_path / "barrier" / "story").iterdir())) == 4
    assert all(boxes(editor.text(KIT_MD)).values())
    assert [title for _, title, _ in await lenses(editor, KIT_MD)] == []
