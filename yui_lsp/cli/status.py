"""`yui status` and `yui locks`: what is happening on a repository, at a glance.

Both read yui's state through :mod:`yui_lsp.coordinator.glance` (plain JSON, read-only),
so they start like a native command: no pydantic, no anyio, no configuration to load.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yui_lsp.coordinator import glance
from yui_lsp.errors import YuiError

#: Without --all or --since, `yui status` shows ended tasks of this many hours, at most so many.
_RECENT_HOURS, _RECENT_MAX = 24, 20
_SINCE_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> datetime:
    return datetime.now(UTC)


def ago(moment: datetime) -> str:
    seconds = max(0.0, (_now() - moment).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def parse_since(text: str) -> datetime:
    """``--since``: a duration back from now (``90m``, ``2h``, ``7d``) or an ISO date/time."""
    match = _SINCE_RE.match(text.strip())
    if match:
        try:
            return _now() - timedelta(seconds=float(match[1]) * _UNITS[match[2]])
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)  # longer ago than dates go: everything
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise YuiError(f"--since {text!r}: give a duration (30m, 2h, 7d) or a date "
                       "(2026-01-15 or 2026-01-15T10:30)") from None
    try:
        return moment if moment.tzinfo else moment.astimezone()
    except (ValueError, OverflowError):  # at the first day dates have: everything
        return datetime.min.replace(tzinfo=UTC)


def _recent_title(since: datetime | None, show_all: bool) -> str:
    if since is not None and since.year > 1:
        return f"recent tasks (since {since.astimezone():%Y-%m-%d %H:%M})"
    if since is not None or show_all:
        return "recent tasks"
    return f"recent tasks (last {_RECENT_HOURS}h)"


def status(root: Path, console: Console, json_mode: bool, *, show_all: bool = False,
           since: datetime | None = None) -> int:
    """Live tasks of every coordinator on the repository first, then the history."""
    coordinators = glance.coordinators(root)
    running = {c["coordinator_id"] for c in coordinators}
    live_records = glance.live_tasks(root, sorted(running))
    live = sorted((glance.TaskRow.of(r) for r in live_records),
                  key=lambda t: (t.coordinator_id, t.submitted_at))
    live_ids = {t.id for t in live}
    title = _recent_title(since, show_all)
    if since is None and not show_all:
        since = _now() - timedelta(hours=_RECENT_HOURS)
    try:
        recorded = glance.history(root)
    except glance.HistoryUnreadableError as exc:
        recorded = []
        # Said, not fatal: the live tasks are still worth showing.
        Console(stderr=True).print(f"yui: {exc}", highlight=False, markup=False)
    everything = [(glance.TaskRow.of(r), r, log) for r, log in recorded
                  if r["task"]["id"] not in live_ids]
    recent = [item for item in everything if since is None or item[0].updated_at >= since]
    older = len(everything) - len(recent)
    if json_mode:
        for record in live_records:
            _json_line(record, live=True)
        for _, record, log_path in recent:
            _json_line(record, live=False, log_path=log_path)
        return 0
    hidden = 0
    if not show_all and len(recent) > _RECENT_MAX:
        hidden, recent = len(recent) - _RECENT_MAX, recent[:_RECENT_MAX]
    if not live and not recent:
        where = f"{len(coordinators)} coordinators running" if coordinators else \
            "no coordinator running"
        more = f"; {older} older in the history: `yui status --all`" if older > 0 else ""
        console.print(f"no tasks ({where} on {root}){more}", highlight=False)
        return 0
    kinds = {c["coordinator_id"]: f"{c.get('kind', 'cli')} pid {c.get('pid')}"
             for c in coordinators}
    if live:
        table = _task_table(("task", "status", "progress", "agent", "updated", "by", "note"))
        for row in live:
            table.add_row(row.id, row.status.value, f"{row.progress:.0%}", row.agent,
                          ago(row.updated_at), kinds.get(row.coordinator_id, row.coordinator_id),
                          escape(row.note))
        console.print(table)
    if recent:
        if live:
            console.print()
        console.print(title, style="bold", highlight=False)
        table = _task_table(("task", "status", "agent", "ended", "files", "note"))
        for row, _, _ in recent:
            note = row.note
            if not row.status.terminal and row.coordinator_id not in running:
                note = "its coordinator stopped before the task ended"
            title = f" ({row.title})" if row.title and row.title != row.id else ""
            table.add_row(row.id + title, row.status.value, row.agent, ago(row.updated_at),
                          str(row.files), escape(note))
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


def _json_line(record: glance.Record, *, live: bool, log_path: str = "") -> None:
    line = {"type": "task_info", "live": live, **record}
    if log_path:
        line["log_path"] = log_path
    sys.stdout.write(json.dumps(line) + "\n")


def locks(root: Path, console: Console, json_mode: bool) -> int:
    """Who holds which lease, until when (expired leases and dead owners' are not shown)."""
    now = _now()
    unreadable: list[str] = []
    records = glance.leases(root, now, unreadable)
    for name in unreadable:
        # Said, not fatal: yui takes it as holding nothing, which the user should know.
        Console(stderr=True).print(
            f"yui: {name} cannot be read as leases; yui takes it as holding no file (look at "
            "it, then delete it)", highlight=False, markup=False)
    if json_mode:
        for record in records:
            sys.stdout.write(json.dumps(record) + "\n")
        return 0
    if not records:
        console.print("no leases held", highlight=False)
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("path", "task", "type", "agent", "since", "expires", "owner"):
        table.add_column(column, overflow="fold")
    for record in sorted(records, key=lambda r: (str(r["locked_by"]), str(r["file_path"]))):
        left = (glance.parse_time(record["expires_at"]) - now).total_seconds()
        try:
            since = ago(glance.parse_time(record.get("acquired_at")))
        except ValueError:
            since = "?"
        table.add_row(
            escape(str(record["file_path"])), str(record["locked_by"]),
            str(record.get("lock_type", "exclusive")), str(record.get("agent", "")), since,
            f"in {left:.0f}s" if left > 0 else "expired",
            f"pid {record['owner_pid']}@{record['host']}",
        )
    console.print(table)
    return 0
