"""`yui status`, `cancel`, `retry`, `locks`, `logs`, `undo`, `recover`: looking at and
steering the coordinators that are running on a repository, from any terminal.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime
from pathlib import Path

import anyio
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yui_lsp.config import load_settings
from yui_lsp.coordinator import all_tasks, control, live_coordinators
from yui_lsp.errors import UnknownTaskError, YuiError
from yui_lsp.protocol import TaskInfo, utcnow

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: How often `yui logs --follow` looks for new output.
_FOLLOW_POLL_S = 0.25


def _check_id(task_id: str) -> str:
    if not _ID_RE.match(task_id):
        raise UnknownTaskError(task_id)
    return task_id


def _ago(moment: datetime) -> str:
    seconds = max(0.0, (utcnow() - moment).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def status(root: Path, console: Console, json_mode: bool) -> int:
    """List the tasks of every live coordinator on the repository."""
    tasks = sorted(all_tasks(root), key=lambda t: (t.coordinator_id, t.submitted_at))
    if json_mode:
        for info in tasks:
            sys.stdout.write(info.model_dump_json() + "\n")
        return 0
    coordinators = live_coordinators(root)
    if not tasks:
        console.print(f"no tasks ({len(coordinators)} coordinators running on {root})",
                      highlight=False)
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("task", "status", "progress", "agent", "updated", "by", "note"):
        table.add_column(column, overflow="fold")
    kinds = {c.coordinator_id: f"{c.kind} pid {c.pid}" for c in coordinators}
    for info in tasks:
        table.add_row(
            info.task.id, info.status.value, f"{info.progress:.0%}", info.task.agent,
            _ago(info.updated_at), kinds.get(info.coordinator_id, info.coordinator_id),
            escape(info.error or info.message),
        )
    console.print(table)
    return 0


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


def locks(root: Path, console: Console, json_mode: bool) -> int:
    """Who holds which lease, until when."""
    from yui_lsp.workspace import LeaseTable

    settings = load_settings(root)
    records = LeaseTable(root, "yui-locks-reader", settings.lease_ttl_s).records()
    if json_mode:
        for record in records:
            sys.stdout.write(record.model_dump_json() + "\n")
        return 0
    if not records:
        console.print("no leases held", highlight=False)
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("path", "task", "type", "agent", "since", "expires", "owner"):
        table.add_column(column, overflow="fold")
    now = utcnow()
    for record in sorted(records, key=lambda r: (r.locked_by, r.file_path)):
        left = (record.expires_at - now).total_seconds()
        table.add_row(
            escape(record.file_path), record.locked_by, record.lock_type.value, record.agent,
            _ago(record.acquired_at), f"in {left:.0f}s" if left > 0 else "expired",
            f"pid {record.owner_pid}@{record.host}",
        )
    console.print(table)
    return 0


def _task_info(root: Path, task_id: str) -> TaskInfo | None:
    return next((t for t in all_tasks(root) if t.task.id == task_id), None)


def logs(root: Path, task_id: str, follow: bool) -> int:
    """Print a task's agent output; with ``follow``, keep printing until the task ends."""
    path = root / ".yui" / "logs" / f"{_check_id(task_id)}.log"
    if not path.is_file() and _task_info(root, task_id) is None:
        raise YuiError(f"no log for task {task_id!r} in .yui/logs/ (see `yui status` for ids)")
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

