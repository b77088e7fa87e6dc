"""`yui status`, `cancel`, `retry`, `locks`, `logs`, `undo`, `recover`: looking at and
steering the coordinators that are running on a repository, from any terminal, and at the
tasks of earlier runs (the history under ``.yui/``).
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import anyio
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yui_lsp.config import load_settings
from yui_lsp.coordinator import all_tasks, control, live_coordinators
from yui_lsp.coordinator.history import History, HistoryEntry
from yui_lsp.errors import UnknownTaskError, YuiError
from yui_lsp.protocol import Task, TaskInfo, utcnow
from yui_lsp.redact import REDACTED

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: How often `yui logs --follow` looks for new output.
_FOLLOW_POLL_S = 0.25
#: Without --all or --since, `yui status` shows ended tasks of this many hours, at most so many.
_RECENT_HOURS, _RECENT_MAX = 24, 20
_SINCE_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def parse_since(text: str) -> datetime:
    """``--since``: a duration back from now (``90m``, ``2h``, ``7d``) or an ISO date/time."""
    match = _SINCE_RE.match(text.strip())
    if match:
        return utcnow() - timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise YuiError(f"--since {text!r}: give a duration (30m, 2h, 7d) or a date "
                       "(2026-01-15 or 2026-01-15T10:30)") from None
    return moment if moment.tzinfo else moment.astimezone()


def status(root: Path, console: Console, json_mode: bool, *, show_all: bool = False,
           since: datetime | None = None) -> int:
    """Live tasks of every coordinator on the repository first, then the history."""
    live = sorted(all_tasks(root), key=lambda t: (t.coordinator_id, t.submitted_at))
    coordinators = live_coordinators(root)
    running = {c.coordinator_id for c in coordinators}
    live_ids = {t.task.id for t in live}
    history = History(root)
    try:
        if since is None and not show_all:
            since = utcnow() - timedelta(hours=_RECENT_HOURS)
        recent = [e for e in history.recent(since) if e.info.task.id not in live_ids]
        older = len([e for e in history.recent() if e.info.task.id not in live_ids]) - len(recent)
    finally:
        history.close()
    hidden = 0
    if not show_all and len(recent) > _RECENT_MAX and not json_mode:
        hidden, recent = len(recent) - _RECENT_MAX, recent[:_RECENT_MAX]
    if json_mode:
        for info in live:
            _json_line(info, live=True)
        for entry in recent:
            _json_line(entry.info, live=False, log_path=entry.log_path)
        return 0
    if not live and not recent:
        where = f"{len(coordinators)} coordinators running" if coordinators else \
            "no coordinator running"
        more = f"; {older} older in the history: `yui status --all`" if older > 0 else ""
        console.print(f"no tasks ({where} on {root}){more}", highlight=False)
        return 0
    kinds = {c.coordinator_id: f"{c.kind} pid {c.pid}" for c in coordinators}
    if live:
        table = _task_table(("task", "status", "progress", "agent", "updated", "by", "note"))
        for info in live:
            table.add_row(
                info.task.id, info.status.value, f"{info.progress:.0%}", info.task.agent,
                _ago(info.updated_at), kinds.get(info.coordinator_id, info.coordinator_id),
                _note(info.error or info.message),
            )
        console.print(table)
    if recent:
        if live:
            console.print()
        console.print("recent tasks" + ("" if show_all else f" (last {_RECENT_HOURS}h)"),
                      style="bold", highlight=False)
        table = _task_table(("task", "status", "agent", "ended", "files", "note"))
        for entry in recent:
            info = entry.info
            note = info.error or info.message
            if not info.status.terminal and info.coordinator_id not in running:
                note = "its coordinator stopped before the task ended"
            title = f" ({info.task.title})" if info.task.title and \
                info.task.title != info.task.id else ""
            table.add_row(info.task.id + title, info.status.value, info.task.agent,
                          _ago(info.updated_at), str(len(info.files_modified)), _note(note))
        console.print(table)
    if hidden or older > 0:
        console.print(f"{hidden + max(older, 0)} more in the history: `yui status --all`",
                      highlight=False)
    return 0


def _task_table(columns: tuple[str, ...]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="ellipsis" if column == "note" else "fold")
    return table


def _note(text: str) -> str:
    return escape(text)


def _json_line(info: TaskInfo, *, live: bool, log_path: str = "") -> None:
    record = {"type": "task_info", "live": live, **info.model_dump(mode="json")}
    if log_path:
        record["log_path"] = log_path
    sys.stdout.write(json.dumps(record) + "\n")


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

