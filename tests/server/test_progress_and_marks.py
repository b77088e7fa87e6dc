"""What the user sees while tasks run: progress, lease diagnostics, conflicts, cancel."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types as lsp

from tests.server.conftest import EditorFactory
from tests.server.editor import Editor, plain, python_command
from yui_lsp.protocol import LockType
from yui_lsp.workspace import LeaseTable

SLOW_EDIT = """
import pathlib, sys, time
print('starting work', flush=True)
time.sleep(float(sys.argv[1]))
print('writing the result', flush=True)
a = pathlib.Path('src/a.py')
a.write_text(a.read_text().replace('x = 1', sys.argv[2]))
"""


def slow_task(delay: float, new_line: str = "x = 42") -> dict[str, object]:
    return {"title": "slow edit", "agent": "yui", "claims": ["src/a.py"],
            "command": [*python_command(SLOW_EDIT), str(delay), new_line]}


def yui_diagnostics(editor: Editor, rel: str) -> list[lsp.Diagnostic]:
    found = [d for d in editor.client.diagnostics.get(editor.uri(rel), []) if d.source == "yui"]
    for diagnostic in found:
        # The test client keeps `data` as a named tuple; an editor sends back the object.
        diagnostic.data = plain(diagnostic.data)
    return found


def progress_of(editor: Editor, task_id: str) -> tuple[str, list[object]]:
    for token, values in editor.client.progress_reports.items():
        if str(token).startswith(f"yui/{task_id}/"):
            return str(token), list(values)
    return "", []


async def test_progress_begins_reports_activity_and_ends_with_the_outcome(
        open_editor: EditorFactory) -> None:
    editor = await open_editor()
    answer = await editor.run("yui.submitTask", slow_task(0.3))
    task_id = answer["taskId"]
    await editor.finished(task_id)
    _, values = await editor.until(
        lambda: (p := progress_of(editor, task_id))[1]
        and isinstance(p[1][-1], lsp.WorkDoneProgressEnd) and p)

    begin, *reports, end = values
    assert isinstance(begin, lsp.WorkDoneProgressBegin)
    assert begin.title == "yui: slow edit" and begin.message == "yui" and begin.cancellable
    assert all(isinstance(r, lsp.WorkDoneProgressReport) for r in reports)
    messages = [r.message for r in reports if isinstance(r, lsp.WorkDoneProgressReport)]
    assert "starting work" in messages, "the agent's output lines are the activity shown"
    percentages = [r.percentage or 0 for r in reports if isinstance(r, lsp.WorkDoneProgressReport)]
    assert percentages == sorted(percentages)
    assert isinstance(end, lsp.WorkDoneProgressEnd) and end.message
    assert end.message.startswith("completed")


async def test_cancelling_the_progress_cancels_the_task(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    answer = await editor.run("yui.submitTask", slow_task(60))
    task_id = answer["taskId"]
    token, _ = await editor.until(lambda: (p := progress_of(editor, task_id))[1] and p)
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))

    editor.client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token=token))
    end = await editor.finished(task_id, timeout=10)

    assert end["status"] == "cancelled"
    assert editor.edits == []
    assert (repo / "src" / "a.py").read_text().startswith("x = 1\n")


async def test_lease_diagnostic_shows_while_leased_and_clears_after(
        open_editor: EditorFactory) -> None:
    editor = await open_editor()
    editor.open("src/a.py")
    editor.open("src/b.py")
    answer = await editor.run("yui.submitTask", slow_task(1.0))
    task_id = answer["taskId"]

    shown = await editor.until(lambda: yui_diagnostics(editor, "src/a.py"))
    assert shown[0].severity == lsp.DiagnosticSeverity.Information
    assert shown[0].range.start.line == 0
    assert shown[0].message.startswith("Being edited by task 'slow edit' (yui) since ")
    assert "; leased until " in shown[0].message
    assert yui_diagnostics(editor, "src/b.py") == [], "only leased files are marked"
    lenses = await editor.client.text_document_code_lens_async(lsp.CodeLensParams(
        text_document=lsp.TextDocumentIdentifier(uri=editor.uri("src/a.py"))))
    assert lenses and lenses[0].command and lenses[0].command.command == "yui.cancelTask"
    actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=editor.uri("src/a.py")),
        range=shown[0].range, context=lsp.CodeActionContext(diagnostics=list(shown))))
    assert [a.title for a in actions or []] == ["Cancel task 'slow edit'"]

    await editor.finished(task_id)
    await editor.until(lambda: not yui_diagnostics(editor, "src/a.py"), timeout=5)


async def test_leases_of_another_process_show_too(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    editor.open("src/b.py")
    # Another coordinator on the same repository (this test process) takes a lease.
    table = LeaseTable(repo, f"cli-test-{os.getpid()}", ttl_s=60)
    assert table.try_acquire("cli-job", ["src/b.py"], LockType.EXCLUSIVE,
                             agent="kiro", title="cli job") is not None

    shown = await editor.until(lambda: yui_diagnostics(editor, "src/b.py"), timeout=5)
    assert "task 'cli job' (kiro)" in shown[0].message
    locks = await editor.until(lambda: [p for m, p in editor.notifications
                                        if m == "yui/locksChanged" and p["locks"]])
    assert locks[-1]["locks"][0]["locked_by"] == "cli-job"
    listed = await editor.run("yui.listLocks")
    assert [lock["locked_by"] for lock in listed["locks"]] == ["cli-job"]

    table.release("cli-job")
    await editor.until(lambda: not yui_diagnostics(editor, "src/b.py"), timeout=5)


async def test_conflict_is_marked_with_actions(open_editor: EditorFactory) -> None:
    editor = await open_editor({"conflictRetries": 0})
    editor.open("src/a.py")
    answer = await editor.run("yui.submitTask", slow_task(1.0, "x = 'agent'"))
    task_id = answer["taskId"]
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))
    editor.type("src/a.py", "x = 'user'\ny = 2\nz = 3\n")  # the same line, differently

    end = await editor.finished(task_id)
    assert end["status"] == "conflict", end
    warnings = await editor.until(lambda: [
        d for d in yui_diagnostics(editor, "src/a.py")
        if d.severity == lsp.DiagnosticSeverity.Warning])
    assert warnings[0].range.start.line == 0
    assert editor.text("src/a.py") == "x = 'user'\ny = 2\nz = 3\n", "the user's text is kept"

    actions = await editor.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=editor.uri("src/a.py")),
        range=warnings[0].range,
        context=lsp.CodeActionContext(diagnostics=list(warnings))))
    # (the test client reads each action back as a Command: both have a title)
    titles = [action.title for action in actions or []]
    assert titles == ["Re-run on my current text", "Resolve in editor (conflict markers)",
                      "Keep mine", "Take the task's", "Show diff"]
    diff = await editor.run("yui.showDiff", {"taskId": task_id})
    assert "src/a.py" in diff["diff"]

    await editor.run("yui.discardResult", {"taskId": task_id})
    await editor.until(lambda: not yui_diagnostics(editor, "src/a.py"), timeout=5)
