"""`yui/locksChanged` carries the whole table once, then only the tasks whose leases changed;
replayed in order, the notifications are the table ``yui.listLocks`` answers."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from tests.server.conftest import EditorFactory
from tests.server.editor import Editor, python_command
from yui_lsp.protocol import LockRecord, LockType, utcnow
from yui_lsp.server.lease_board import LeaseBoard
from yui_lsp.workspace import LeaseTable


def lease(path: str, task: str, title: str = "", minutes: int = 5) -> LockRecord:
    now = utcnow()
    return LockRecord(file_path=path, locked_by=task, acquired_at=now,
                      expires_at=now + timedelta(minutes=minutes), owner_pid=1, host="h",
                      coordinator_id="c", task_title=title)


def shown(board: LeaseBoard, locks: list[LockRecord]) -> dict[str, tuple[LockRecord, ...]]:
    change = board.change(locks)
    assert change is not None and board.commit(change)
    return change.changed


def test_the_first_table_is_whole_then_only_changed_tasks_are() -> None:
    board = LeaseBoard()
    held = [lease(f"held/{i}.txt", "other") for i in range(100)]
    mine = [lease("src/a.py", "mine")]
    first = board.change(held + mine)
    assert first is not None and first.first and set(first.changed) == {"other", "mine"}
    assert board.commit(first)
    assert board.change(held + mine) is None, "the same records: nothing to show"

    renewed = [lease("src/a.py", "mine", minutes=9)]
    assert shown(board, held + renewed) == {"mine": tuple(renewed)}, \
        "a renewed lease is a change; the 100 leases of the other task are not sent again"
    assert shown(board, held) == {"mine": ()}, "released: the task is named with no leases"
    assert [r.file_path for r in board.records()] == sorted(r.file_path for r in held)


def test_a_change_computed_against_an_older_table_is_refused() -> None:
    board = LeaseBoard()
    shown(board, [lease("a", "t1")])
    late = board.change([lease("b", "t2")])
    meanwhile = board.change([lease("c", "t3")])
    assert late is not None and meanwhile is not None
    assert board.commit(meanwhile)
    assert not board.commit(late), "its delta is relative to a table the client no longer has"
    assert [r.file_path for r in board.records()] == ["c"]


def test_covering_names_one_lease_per_task_and_the_task_title() -> None:
    board = LeaseBoard()
    shown(board, [lease("src", "folder-task", "Folder"), lease("src/*.py", "glob-task"),
                  lease("docs/a.md", "file-task", "File"),
                  *[lease(f"held/{i}.txt", "big") for i in range(2000)]])
    assert sorted(r.locked_by for r in board.covering("src/a.py")) == ["folder-task",
                                                                       "glob-task"]
    assert [r.file_path for r in board.covering("src/x/y.py")] == ["src"]
    assert [r.file_path for r in board.covering("held/1999.txt")] == ["held/1999.txt"]
    assert board.covering("docs/b.md") == [] and board.covering("held") == []
    assert board.title("folder-task") == "Folder" and board.title("glob-task") is None
    assert len(board.records()) == 2003


#: Writes src/a.py once the file named by its argument exists.
WRITE_WHEN_TOLD = """
import pathlib, sys, time
while not pathlib.Path(sys.argv[1]).exists():
    time.sleep(0.02)
pathlib.Path('src/a.py').write_text('x = 2\\n')
"""


async def test_notifications_replay_to_the_listed_table(open_editor: EditorFactory,
                                                        repo: Path, tmp_path: Path) -> None:
    editor = await open_editor()
    # Another process's big task (here: this test process, as another coordinator).
    table = LeaseTable(repo, f"other-{os.getpid()}", ttl_s=60)
    claims = [f"held/{i:03d}.txt" for i in range(300)]
    assert table.try_acquire("held-elsewhere", claims, title="big job") is not None
    await editor.until(lambda: len(editor.leases()) == 300, timeout=10)

    answer = await editor.run("yui.submitTask", {
        "title": "edit a", "agent": "yui", "claims": ["src/a.py"],
        "command": [*python_command(WRITE_WHEN_TOLD), str(tmp_path / "go")]})
    await editor.until(lambda: answer["taskId"] in _owners(editor), timeout=10)
    listed = await editor.run("yui.listLocks")
    assert {f"{r['file_path']} {r['locked_by']}": r for r in listed["locks"]} \
        == editor.leases(), "what the notifications add up to is the table listed"
    (tmp_path / "go").touch()
    await editor.finished(answer["taskId"])
    table.release("held-elsewhere")
    await editor.until(lambda: not editor.leases(), timeout=10)

    sent = editor.received("yui/locksChanged")
    assert "tasks" not in sent[0], "the first table is whole"
    assert all(isinstance(p.get("tasks"), list) for p in sent[1:]), "the rest are changes"
    held_sent = sum(1 for p in sent for r in p["locks"] if r["locked_by"] == "held-elsewhere")
    assert held_sent == 300, "the other task's leases travel once, not with every change"


async def test_list_locks_is_the_table_later_changes_apply_to(open_editor: EditorFactory,
                                                              repo: Path) -> None:
    editor = await open_editor()
    table = LeaseTable(repo, f"other-{os.getpid()}", ttl_s=60)
    assert table.try_acquire("one", ["src/a.py"]) is not None
    listed = await editor.run("yui.listLocks")
    assert [r["locked_by"] for r in listed["locks"]] == ["one"]
    assert table.try_acquire("two", ["src/b.py"], LockType.SHARED) is not None
    table.release("one")
    await editor.until(lambda: _owners(editor) == {"two"}, timeout=10)
    assert [r["locked_by"] for r in (await editor.run("yui.listLocks"))["locks"]] == ["two"]


def _owners(editor: Editor) -> set[str]:
    return {r["locked_by"] for r in editor.leases().values()}
