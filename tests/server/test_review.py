"""The review workflow through the real server: the `review` state, per-file apply and
discard, diffs, conflict choices, saving after apply, live logs and clearing tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcServerError

from tests.server.conftest import EditorFactory
from tests.server.editor import Editor, python_command
from tests.server.test_results import edit_task

#: Prints a line, waits for the gate file (a barrier the test opens), then replaces line 1
#: of src/a.py and prints again.
GATED = """
import os, pathlib, sys
print('started', flush=True)
while not os.path.exists(sys.argv[1]):
    pass
a = pathlib.Path('src/a.py')
nl = chr(10)
a.write_text(sys.argv[2] + nl + a.read_text().split(nl, 1)[1])
print('edited', flush=True)
"""


def gated_task(gate: Path, new_line: str = "x = 'agent'") -> dict[str, Any]:
    return {"title": "Gated edit", "agent": "shell", "claims": ["src/a.py"],
            "command": [*python_command(GATED), str(gate), new_line]}


async def in_review(editor: Editor, task_id: str) -> None:
    await editor.until(lambda: any(u["status"] == "review" for u in editor.updates(task_id)))


async def test_a_waiting_result_is_in_review_and_lands_file_by_file(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor({"applyMode": "review"})
    editor.open("src/a.py")
    task_id = (await editor.run("yui.submitTask", edit_task()))["taskId"]
    await in_review(editor, task_id)
    listed = await editor.run("yui.listTasks", {"status": "review"})
    assert [t["task"]["id"] for t in listed["tasks"]] == [task_id]

    diff = await editor.run("yui.showDiff", {"taskId": task_id})
    assert diff["source"] == "review" and diff["title"] == "bump x"
    by_path = {f["path"]: f for f in diff["files"]}
    assert by_path["src/a.py"]["current"] == "x = 1\ny = 2\nz = 3\n"
    assert by_path["src/a.py"]["result"] == "x = 42\ny = 2\nz = 3\n"
    assert by_path["src/b.py"]["uri"] == editor.uri("src/b.py")

    applied = await editor.run("yui.applyResult", {"taskId": task_id, "files": ["src/a.py"]})
    assert (applied["ok"], applied["applied"], applied["remaining"]) == \
        (True, ["src/a.py"], ["src/b.py"])
    assert "'bump x'" in applied["message"]
    assert editor.text("src/a.py") == "x = 42\ny = 2\nz = 3\n"
    assert not [u for u in editor.updates(task_id) if u["status"] == "completed"]

    dropped = await editor.run("yui.discardResult",
                               {"taskId": task_id, "files": [editor.uri("src/b.py")]})
    assert (dropped["ok"], dropped["discarded"], dropped["remaining"]) == \
        (True, ["src/b.py"], [])
    end = await editor.finished(task_id)
    assert (end["status"], end["files_modified"]) == ("completed", ["src/a.py"])
    assert (repo / "src" / "b.py").read_text() == "b = 1\n"

    again = await editor.run("yui.discardResult", {"taskId": task_id})
    assert again["ok"] is False
    assert again["message"].startswith("nothing to discard") and "completed" in again["message"]


async def test_saving_after_apply_keeps_the_users_unsaved_work_unsaved(
        open_editor: EditorFactory) -> None:
    for policy, expected in (("clean", {"src/b.py"}), ("always", {"src/a.py", "src/b.py"}),
                             ("never", set())):
        editor = await open_editor({"saveAfterApply": policy})
        editor.open("src/a.py")
        editor.type("src/a.py", "x = 1\ny = 2\nz = 3\n# mine\n")  # unsaved work
        task_id = (await editor.run("yui.submitTask", edit_task()))["taskId"]
        assert (await editor.finished(task_id))["status"] == "completed"
        (applied,) = editor.received("yui/resultApplied")
        assert set(applied["save"]) == {editor.uri(p) for p in expected}, policy
        assert applied["opened"] == [editor.uri("src/b.py")]


async def test_conflict_choices_markers_theirs_and_mine(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor({"conflictRetries": 0})
    editor.open("src/a.py")
    gate = tmp_path / "gate"
    task_id = (await editor.run("yui.submitTask", gated_task(gate)))["taskId"]
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))
    editor.type("src/a.py", "x = 'user'\ny = 2\nz = 3\n")
    gate.touch()
    end = await editor.finished(task_id)
    assert end["status"] == "conflict", (end["error"], end["message"])

    diff = await editor.run("yui.showDiff", {"taskId": task_id})
    (file,) = diff["files"]
    assert diff["source"] == "conflict"
    assert (file["current"], file["result"]) == ("x = 'user'\ny = 2\nz = 3\n",
                                                 "x = 'agent'\ny = 2\nz = 3\n")

    answer = await editor.run("yui.resolveConflict", {"taskId": task_id, "choice": "editor"})
    assert answer["ok"] and answer["files"] == ["src/a.py"]
    assert editor.text("src/a.py") == (
        "<<<<<<< yours (editor)\nx = 'user'\n=======\nx = 'agent'\n"
        ">>>>>>> task 'Gated edit'\ny = 2\nz = 3\n")
    (applied,) = editor.received("yui/resultApplied")
    assert applied["save"] == [], "conflict markers are never saved"
    with pytest.raises(JsonRpcServerError, match=r"'Gated edit'.*no conflict to show"):
        await editor.run("yui.showDiff", {"taskId": task_id})  # resolved: nothing left


async def test_take_the_tasks_version_or_keep_mine(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor({"conflictRetries": 0})
    editor.open("src/a.py")
    ids = []
    for name in ("one", "two"):
        gate = tmp_path / name
        task_id = (await editor.run("yui.submitTask", gated_task(gate)))["taskId"]
        await editor.until(
            lambda t=task_id: any(u["status"] == "running" for u in editor.updates(t)))
        editor.type("src/a.py", f"x = '{name}'\ny = 2\nz = 3\n")
        gate.touch()
        end = await editor.finished(task_id)
        assert end["status"] == "conflict", (end["error"], end["message"])
        ids.append(task_id)
    mine = await editor.run("yui.resolveConflict", {"taskId": ids[0], "choice": "mine"})
    assert mine["ok"] and editor.text("src/a.py") == "x = 'two'\ny = 2\nz = 3\n"
    theirs = await editor.run("yui.resolveConflict", {"taskId": ids[1], "choice": "theirs"})
    assert theirs["ok"] and editor.text("src/a.py") == "x = 'agent'\ny = 2\nz = 3\n"


async def test_a_followed_log_streams_until_the_task_ends(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor()
    gate = tmp_path / "gate"
    task_id = (await editor.run("yui.submitTask", gated_task(gate)))["taskId"]
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))
    first = await editor.run("yui.taskLog", {"taskId": task_id, "follow": True})
    assert first["following"] is True and first["title"] == "Gated edit"

    def streamed() -> list[str]:
        return [line["line"] for note in editor.received("yui/taskLog")
                for line in note["lines"] if line["stream"] == "stdout"]

    seen = [line["line"] for line in first["lines"] if line["stream"] == "stdout"]
    await editor.until(lambda: "started" in seen + streamed())
    gate.touch()
    await editor.until(lambda: any(n["done"] for n in editor.received("yui/taskLog")))
    assert "edited" in streamed()


async def test_cleared_tasks_leave_the_list(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    failing = {"title": "Fails", "agent": "shell", "command": ["false"]}
    task_id = (await editor.run("yui.submitTask", failing))["taskId"]
    assert (await editor.finished(task_id))["status"] == "failed"
    cleared = await editor.run("yui.clearTasks", {})
    assert cleared["cleared"] == [task_id]
    listed = await editor.run("yui.listTasks")
    assert task_id not in [t["task"]["id"] for t in listed["tasks"]]


#: Prints src/a.py as its sandbox holds it, waits for the gate, then rewrites line 1.
SHOW_THEN_EDIT = GATED.replace("print('started', flush=True)",
                               "print(open('src/a.py').read(), flush=True)")


async def test_a_conflict_rerun_sees_the_unsaved_text(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor({"conflictRetries": 1})
    editor.open("src/a.py")
    gate = tmp_path / "gate"
    task = {**gated_task(gate), "command": [*python_command(SHOW_THEN_EDIT), str(gate),
                                            "x = 'agent'"]}
    task_id = (await editor.run("yui.submitTask", task))["taskId"]
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))
    editor.type("src/a.py", "x = 'user'\ny = 2\nz = 3\n# unsaved\n")
    gate.touch()
    end = await editor.finished(task_id)
    assert end["status"] == "completed", end  # the re-run merged cleanly
    log = await editor.run("yui.taskLog", {"taskId": task_id})
    printed = [line["line"] for line in log["lines"] if line["stream"] == "stdout"]
    assert "# unsaved" in printed, printed  # the re-run's sandbox held the unsaved buffer
    assert editor.text("src/a.py") == "x = 'agent'\ny = 2\nz = 3\n# unsaved\n"
