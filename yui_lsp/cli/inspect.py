"""`yui cancel`, `retry`, `logs`, `undo`, `recover`: steering the coordinators that are
running on a repository, from any terminal, and reaching the tasks of earlier runs (the
history under ``.yui/``). `yui status` and `yui locks` are in :mod:`.status`.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import anyio
from rich.console import Console

from yui_lsp.coordinator import all_tasks, control, live_coordinators
from yui_lsp.coordinator.history import History, HistoryEntry
from yui_lsp.errors import UnknownTaskError, YuiError
from yui_lsp.protocol import Task, TaskInfo
from yui_lsp.redact import REDACTED

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: How often `yui logs --follow` looks for new output.
_FOLLOW_POLL_S = 0.25


def _check_id(task_id: str) -> str:
    if not _ID_RE.match(task_id):
        raise UnknownTaskError(task_id)
    return task_id


def retry_or_earlier(root: Path, console: Console, task_id: str) -> Task | None:
    """``yui retry``: a live coordinator's task is queued again there (None is returned);
    a task of an earlier run comes back from the history, to run again here."""
    try:
        steer(root, console, "retry", task_id)
        return None
    except UnknownTaskError:
        pass
    entry = _from_history(root, task_id)
    if entry is None:
        raise UnknownTaskError(task_id)
    info = entry.info
    if not info.status.terminal and info.coordinator_id in {
            c.coordinator_id for c in live_coordinators(root)}:
        raise YuiError(f"task {task_id!r} is still {info.status.value}; "
                       f"`yui cancel {task_id}` first")
    if REDACTED in info.task.model_dump_json():
        raise YuiError(f"task {task_id!r} carried a secret in its prompt or command, which the "
                       "history does not keep: submit it again with the secret")
    console.print(f"{task_id}: ended {info.status.value} in an earlier run; running it again",
                  highlight=False)
    # The same task under a new id: its first run's log and backup stay as they were.
    return info.task.model_copy(update={"depends_on": [],
                                        "title": info.task.title or info.task.id})


def _from_history(root: Path, task_id: str) -> HistoryEntry | None:
    history = History(root)
    try:
        return history.get(task_id)
    finally:
        history.close()


def steer(root: Path, console: Console, op: str, task_id: str) -> int:
    """Cancel or retry a task, whichever coordinator on the repository runs it."""
    answer = anyio.run(control, root, op, _check_id(task_id))
    if op == "cancel":
        done = answer.get("cancelled", True)
        console.print(f"{task_id}: " + ("cancelled" if done else "had already ended"),
                      highlight=False)
    else:
        console.print(f"{task_id}: queued again", highlight=False)
    return 0


def _task_info(root: Path, task_id: str) -> TaskInfo | None:
    return next((t for t in all_tasks(root) if t.task.id == task_id), None)


def logs(root: Path, task_id: str, follow: bool) -> int:
    """Print a task's agent output; with ``follow``, keep printing until the task ends."""
    path = root / ".yui" / "logs" / f"{_check_id(task_id)}.log"
    if not path.is_file():
        if _task_info(root, task_id) is not None and follow:
            pass  # live and not started yet: its output comes
        else:
            entry = _from_history(root, task_id)
            if entry is None:
                raise YuiError(f"no log for task {task_id!r} in .yui/logs/ "
                               "(see `yui status --all` for ids)")
            sys.stdout.write(_no_output(entry.info) + "\n")
            return 0
    out = sys.stdout.buffer
    offset = 0
    while True:
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
            offset += len(chunk)
            out.write(chunk)
            out.flush()
        if not follow:
            return 0
        info = _task_info(root, task_id)
        if info is None or info.status.terminal:
            if not path.is_file() or path.stat().st_size == offset:
                return 0
            continue
        time.sleep(_FOLLOW_POLL_S)  # plain sync code: nothing else runs meanwhile


def _no_output(info: TaskInfo) -> str:
    """Why a task has no log: it never started (and why), or it wrote nothing yet."""
    reason = info.error or info.message
    if info.status.terminal:
        if info.task.agent == "refactor" or info.task.refactor is not None:
            return f"task {info.task.id} ({info.status.value}) ran the built-in refactor, " \
                f"which writes no agent log: {reason or 'no error'}"
        return f"task {info.task.id} never started an agent ({info.status.value}): " \
            f"{reason or 'no reason recorded'}"
    return f"task {info.task.id} has not started yet ({info.status.value}" + \
        (f": {reason})" if reason else ")")


def undo(root: Path, console: Console, task_id: str) -> int:
    """Revert what an applied task wrote, keeping later edits of the same files."""
    from yui_lsp.workspace import DiskReader
    from yui_lsp.workspace import undo as undo_task

    info = _task_info(root, _check_id(task_id))
    if info is not None and not info.status.terminal:
        raise YuiError(
            f"task {task_id!r} is still {info.status.value}; `yui cancel {task_id}` first"
        )
    report = undo_task(root, task_id, DiskReader(root))
    for path in report.reverted:
        console.print(f"reverted {path}", markup=False, highlight=False)
    for path, reason in sorted(report.skipped.items()):
        console.print(f"kept {path}: {reason}", markup=False, highlight=False)
    if not report.reverted and not report.skipped:
        console.print(f"{task_id}: nothing to undo", highlight=False)
    return 1 if report.skipped else 0


def recover(root: Path, console: Console) -> int:
    """Finish or roll back applies that were interrupted (crash, power loss, kill -9)."""
    from yui_lsp.workspace import recover as recover_applies

    busy = live_coordinators(root)
    if busy:
        raise YuiError(
            f"{len(busy)} coordinator(s) still running on this repository (they recover on "
            "their own); stop them first or wait"
        )
    done = recover_applies(root)
    if not done:
        console.print("nothing to recover: every apply finished", highlight=False)
    for task_id in done:
        console.print(f"recovered the interrupted apply of {task_id}", highlight=False)
    return 0

