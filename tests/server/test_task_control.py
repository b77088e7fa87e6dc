"""Controlling tasks from the editor: retry a failed one, cancel a queued one, list them."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import EditorFactory
from tests.server.editor import python_command
from tests.server.test_commands import error_of
from tests.server.test_progress_and_marks import progress_of
from tests.server.test_workspaces import latest_status, waiting_task

#: Fails on its first run (counted in the file argv[1]), then rewrites src/a.py.
FAILS_ONCE = """
import pathlib, sys
count = pathlib.Path(sys.argv[1])
runs = int(count.read_text()) if count.exists() else 0
count.write_text(str(runs + 1))
if runs == 0:
    sys.exit('the first try fails')
a = pathlib.Path('src/a.py')
a.write_text(a.read_text().replace('x = 1', 'x = 2'))
"""

#: Leaves a mark (argv[1]) if it ever runs.
MARKS_THAT_IT_RAN = "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()"

#: No resource gate: a busy test machine must not be what holds a task back.
ONE_WORKER = {"maxWorkers": 1, "maxCpuPercent": 100, "minFreeMemoryMb": 0}


async def test_retry_runs_a_failed_task_again(
        open_editor: EditorFactory, repo: Path, tmp_path: Path) -> None:
    editor = await open_editor()
    count = tmp_path / "runs"
    answer = await editor.run("yui.submitTask", {
        "title": "flaky", "agent": "yui", "claims": ["src/a.py"],
        "command": [*python_command(FAILS_ONCE), str(count)]})
    task_id = answer["taskId"]
    failed = await editor.finished(task_id)
    assert failed["status"] == "failed"
    assert "the first try fails" in (failed["error"] or "")
    assert (repo / "src" / "a.py").read_text().startswith("x = 1\n")

    seen = len(editor.updates(task_id))
    assert await editor.run("yui.retryTask", {"taskId": task_id}) == {"ok": True, "message": ""}
    again = await editor.ended_after(task_id, seen)

    assert again["status"] == "completed", (again["error"], again["message"])
    assert count.read_text() == "2"
    assert (repo / "src" / "a.py").read_text() == "x = 2\ny = 2\nz = 3\n"
    listed = await editor.run("yui.listTasks", {"status": "completed"})
    assert [info["task"]["id"] for info in listed["tasks"]] == [task_id]


async def test_cancelling_a_queued_task_means_it_never_runs(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor(ONE_WORKER)
    go, mark = tmp_path / "go", tmp_path / "ran"
    blocker = (await editor.run("yui.submitTask", waiting_task(go, "blocker = 1")))["taskId"]
    queued = (await editor.run("yui.submitTask", {
        "title": "never", "agent": "yui",
        "command": [*python_command(MARKS_THAT_IT_RAN), str(mark)]}))["taskId"]
    await editor.until(lambda: latest_status(editor, blocker) == "running")
    assert latest_status(editor, queued) == "queued"

    answer = await editor.run("yui.cancelTask", {"taskId": queued})
    assert answer["ok"] is True
    end = await editor.finished(queued)
    assert end["status"] == "cancelled"
    assert "before it started" in end["message"]
    assert latest_status(editor, blocker) == "running", "the running task is not disturbed"
    assert "cancel it first" in await error_of(editor, "yui.retryTask", {"taskId": blocker})
    # A task that never started had no progress in the editor's status bar.
    assert progress_of(editor, queued) == ("", [])

    go.touch()
    assert (await editor.finished(blocker))["status"] == "completed"
    assert not mark.exists(), "the cancelled task's command never ran"


async def test_list_tasks_filters_pages_and_leaves_prompts_out(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    editor = await open_editor(ONE_WORKER)
    go = tmp_path / "go"
    ids = []
    for index in range(5):
        task = {**waiting_task(go, f"line{index} = {index}"), "prompt": f"long prompt {index}"}
        ids.append((await editor.run("yui.submitTask", task))["taskId"])
    await editor.until(lambda: latest_status(editor, ids[0]) == "running")

    listed = await editor.run("yui.listTasks")
    assert listed["total"] == 5
    assert [info["task"]["id"] for info in listed["tasks"]] == ids, "submission order"
    first = listed["tasks"][0]
    assert first["status"] == "running" and first["task"]["title"] == "line0 = 0"
    assert "prompt" not in first["task"] and "command" not in first["task"]
    verbose = await editor.run("yui.listTasks", {"verbose": True})
    assert verbose["tasks"][0]["task"]["prompt"] == "long prompt 0"
    assert verbose["tasks"][0]["task"]["command"][-1] == "line0 = 0"

    queued = await editor.run("yui.listTasks", {"status": "queued"})
    assert [info["task"]["id"] for info in queued["tasks"]] == ids[1:]
    page = await editor.run("yui.listTasks", {"status": ["queued"], "offset": 1, "limit": 2})
    assert [info["task"]["id"] for info in page["tasks"]] == ids[2:4]
    assert page["total"] == 4
    assert "status" in await error_of(editor, "yui.listTasks", {"status": "sleeping"})
    assert "limit" in await error_of(editor, "yui.listTasks", {"limit": -1})

    # A listed task that changes is listed with its new state.
    await editor.run("yui.cancelTask", {"taskId": ids[4]})
    await editor.finished(ids[4])
    cancelled = await editor.run("yui.listTasks", {"status": "cancelled"})
    assert [info["task"]["id"] for info in cancelled["tasks"]] == [ids[4]]
    assert (await editor.run("yui.listTasks"))["tasks"][4]["status"] == "cancelled"
    go.touch()
