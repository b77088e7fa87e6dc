"""Multi-root workspaces and settings that change while the server runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from tests.server.conftest import EditorFactory, make_repo
from tests.server.editor import Editor, python_command
from tests.server.test_progress_and_marks import slow_task, yui_diagnostics

#: Waits until the file named by argv[1] exists (the test's go signal), then edits src/b.py.
WAIT_FOR_SIGNAL = """
import pathlib, sys, time
deadline = time.monotonic() + 20
while not pathlib.Path(sys.argv[1]).exists():
    if time.monotonic() > deadline:
        sys.exit('no go signal')
    time.sleep(0.02)
b = pathlib.Path('src/b.py')
b.write_text(b.read_text() + sys.argv[2] + '\\n')
"""


def latest_status(editor: Editor, task_id: str) -> str | None:
    updates = editor.updates(task_id)
    return str(updates[-1]["status"]) if updates else None


async def test_each_folder_gets_its_own_tasks_leases_and_results(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    one, two = make_repo(workspace / "one"), make_repo(workspace / "two")
    editor = await open_editor(root=workspace, folders=[one, two])
    editor.open("one/src/a.py")
    editor.open("two/src/a.py")
    one_uri = editor.uri("one")

    first = await editor.run("yui.submitTask", {
        **slow_task(1.0, "x = 'one'"), "title": "edit one", "folder": one_uri})
    # A folder may be named by its path as well as by its URI.
    second = await editor.run("yui.submitTask", {
        **slow_task(1.0, "x = 'two'"), "title": "edit two", "folder": str(two)})

    # While both run, each folder's open file shows its own task's lease, and only that.
    shown_one = await editor.until(lambda: yui_diagnostics(editor, "one/src/a.py"))
    shown_two = await editor.until(lambda: yui_diagnostics(editor, "two/src/a.py"))
    assert [d.message.split("'")[1] for d in shown_one] == ["edit one"]
    assert [d.message.split("'")[1] for d in shown_two] == ["edit two"]
    lease_owners = await editor.until(lambda: _lease_owners_by_folder(editor))
    assert lease_owners.get(one_uri, set()) <= {first["taskId"]}
    assert lease_owners.get(editor.uri("two"), set()) <= {second["taskId"]}
    only_one = await editor.run("yui.listTasks", {"folder": one_uri})
    assert [info["task"]["id"] for info in only_one["tasks"]] == [first["taskId"]]

    for answer in (first, second):
        assert (await editor.finished(answer["taskId"]))["status"] == "completed"
    # Each result landed in its own folder's buffer, through edits naming only that folder.
    assert editor.text("one/src/a.py") == "x = 'one'\ny = 2\nz = 3\n"
    assert editor.text("two/src/a.py") == "x = 'two'\ny = 2\nz = 3\n"
    for params in editor.edits:
        folders = {_folder_of(editor, change.text_document.uri)
                   for change in params.edit.document_changes or []
                   if isinstance(change, lsp.TextDocumentEdit)}
        assert len(folders) == 1, "one task's edit stays inside its folder"
    await editor.until(lambda: not (yui_diagnostics(editor, "one/src/a.py")
                                    or yui_diagnostics(editor, "two/src/a.py")), timeout=5)
    listed = await editor.run("yui.listTasks")
    assert {info["task"]["id"] for info in listed["tasks"]} == {first["taskId"], second["taskId"]}


def _lease_owners_by_folder(editor: Editor) -> dict[str, set[str]]:
    """Task ids ever seen holding leases, per folder of `yui/locksChanged`."""
    owners: dict[str, set[str]] = {}
    for method, payload in editor.notifications:
        if method == "yui/locksChanged":
            owners.setdefault(payload["folder"], set()).update(
                lock["locked_by"] for lock in payload["locks"])
    return owners if len(owners) == 2 else {}


def _folder_of(editor: Editor, uri: str) -> str:
    return uri.removeprefix(editor.uri("")).lstrip("/").split("/")[0]


async def _two_waiting_tasks_on_one_worker(
        open_editor: EditorFactory, go: Path) -> tuple[Editor, list[str]]:
    # No resource gate: a busy test machine must not be what holds a task back.
    editor = await open_editor({"maxWorkers": 1, "maxCpuPercent": 100, "minFreeMemoryMb": 0})
    first = (await editor.run("yui.submitTask", waiting_task(go, "first = 1")))["taskId"]
    second = (await editor.run("yui.submitTask", waiting_task(go, "second = 2")))["taskId"]
    await editor.until(lambda: latest_status(editor, first) == "running")
    assert latest_status(editor, second) == "queued", "one worker: the second task waits"
    return editor, [first, second]


def waiting_task(go: Path, line: str) -> dict[str, Any]:
    """A task that runs until ``go`` exists, then appends ``line`` to src/b.py."""
    return {"title": line, "agent": "yui", "claims": [],
            "command": [*python_command(WAIT_FOR_SIGNAL), str(go), line]}


def raise_max_workers(editor: Editor, workers: int) -> None:
    """The user edits the `yui` settings; the editor announces the change."""
    editor.client.set_configuration({"maxWorkers": workers}, section="yui")
    editor.client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings=None))


async def test_max_workers_from_workspace_configuration_applies_live(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    go = tmp_path / "go"
    editor, (first, second) = await _two_waiting_tasks_on_one_worker(open_editor, go)

    raise_max_workers(editor, 2)
    logged = await editor.until(lambda: [m.message for m in editor.client.log_messages
                                         if "tasks at once" in m.message])
    assert "up to 2 tasks at once" in logged[-1]
    third = (await editor.run("yui.submitTask", waiting_task(go, "third = 3")))["taskId"]

    # Two workers now: the second task runs beside the first; the third waits for a worker.
    await editor.until(lambda: latest_status(editor, second) == "running", timeout=10)
    assert latest_status(editor, first) == "running"
    assert latest_status(editor, third) == "queued"
    go.touch()
    for task_id in (first, second, third):
        assert (await editor.finished(task_id))["status"] == "completed"


async def test_raising_max_workers_starts_queued_tasks_at_once(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    go = tmp_path / "go"
    editor, (_, second) = await _two_waiting_tasks_on_one_worker(open_editor, go)
    raise_max_workers(editor, 2)
    try:
        await editor.until(lambda: latest_status(editor, second) == "running", timeout=5)
    finally:
        go.touch()


async def test_one_folder_whose_state_breaks_stops_alone_and_says_why(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    one, two = make_repo(workspace / "one"), make_repo(workspace / "two")
    editor = await open_editor(root=workspace, folders=[one, two])
    await editor.run("yui.listTasks")  # both folders are hosted
    tasks = one / ".yui" / "tasks"
    shutil.rmtree(tasks, ignore_errors=True)
    tasks.write_text("a file where yui keeps a folder\n")  # its next task table has no home
    tasks.chmod(0o600)
    await editor.run("yui.submitTask", {**slow_task(0.1), "folder": editor.uri("one")})

    said = await editor.until(lambda: [m.message for m in editor.client.messages
                                       if "stopped coordinating" in m.message])
    assert f"yui: stopped coordinating tasks in {one}: cannot use yui's state file " \
        ".yui/tasks: Not a directory" in said[0], said
    answer = await editor.run("yui.submitTask", {**slow_task(0.1), "folder": editor.uri("two")})
    assert (await editor.finished(answer["taskId"]))["status"] == "completed"
    assert tasks.read_text() == "a file where yui keeps a folder\n"
