"""A quick, read-only look at yui's state on a repository, without pydantic or anyio.

``yui status`` and ``yui locks`` are called by status lines, shell prompts and git hooks,
so they must start like a native command. They read the files the coordinator writes —
the domain registry (``.yui/coordinators``), the published task tables (``.yui/tasks``),
the history (``.yui/history.sqlite3``) and the lease table (``.yui/locks``) — as plain
JSON, with the same trust checks as the model readers (:mod:`.domain`, :mod:`.history`,
:mod:`yui_lsp.workspace.leases`), and change nothing but what every reader does (a folder
of ``.yui/`` of the user's own is made owner-only): no entry is removed, no lease
reclaimed, nothing created. A record that is not a JSON object with the fields shown is
skipped, as the model readers skip what they cannot validate;
tests/coordinator/test_glance.py keeps the two kinds of reader in step on real runs.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yui_lsp.errors import YuiError
from yui_lsp.protocol.states import TaskStatus
from yui_lsp.workspace.statedir import STATE_DIR_NAME, check_trusted, private_dir

HISTORY_FILE = "history.sqlite3"
Record = dict[str, Any]

#: SQLite's answers for a file that is not (or no longer) a sound database.
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class HistoryUnreadableError(YuiError):
    """The task history is there but cannot be read (damaged, or locked for long)."""


class HistoryUnavailableError(HistoryUnreadableError):
    """The task history cannot be used now (disk full or failing, a folder in its place)."""


def is_damage(exc: BaseException) -> bool:
    """True when SQLite says the file is not, or no longer, a sound database."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None \
        and code & 0xFF in _DAMAGED


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def unavailable(exc: BaseException) -> HistoryUnavailableError:
    """The error for a history SQLite or the system cannot use now; nothing in it is lost."""
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    then = "another yui process holds it: try again in a moment" if _is_busy(exc) else (
        "is the disk full, or something other than yui's file at that path? free space or "
        "move it aside, then run again")
    return HistoryUnavailableError(
        f"the task history {STATE_DIR_NAME}/{HISTORY_FILE} cannot be used now ({why}); it "
        f"is kept as it is ({then})")


def _existing(folder: Path) -> bool:
    """Whether ``folder`` exists; if so it is checked to be the user's own and made
    owner-only, as every reader of ``.yui/`` does (UntrustedStateError otherwise)."""
    if not os.path.lexists(folder):
        return False
    private_dir(folder)
    return True


def _state(root: Path) -> Path:
    path = Path(root) / STATE_DIR_NAME
    _existing(path)
    return path


def read_json(path: Path) -> Any:
    """The JSON value of a trusted state file; None when it is gone or not JSON.

    Untrusted files raise UntrustedStateError, as they do for every reader of ``.yui/``.
    """
    try:
        check_trusted(path)
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None  # gone meanwhile, unreadable, or half-written by hand


def _json_files(folder: Path) -> list[Path]:
    if not _existing(folder):
        return []
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".json")
    except (FileNotFoundError, NotADirectoryError):
        return []


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (what psutil.pid_exists answers)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False  # gone, or no pid at all
    except PermissionError:
        return True  # someone else's process
    return True


def alive_here(host: object, pid: object) -> bool:
    """Whether a process registered by ``host`` and ``pid`` may still run (another host:
    assumed so, only its own cleanup or an expiry can tell)."""
    if host != socket.gethostname():
        return True
    return isinstance(pid, int) and pid_alive(pid)


def coordinators(root: Path) -> list[Record]:
    """Registered coordinators whose process is alive (dead entries are left in place)."""
    found: list[Record] = []
    for path in _json_files(_state(root) / "coordinators"):
        entry = read_json(path)
        if isinstance(entry, dict) and isinstance(entry.get("coordinator_id"), str) \
                and alive_here(entry.get("host"), entry.get("pid")):
            found.append(entry)
    return found


def live_tasks(root: Path, coordinator_ids: list[str]) -> list[Record]:
    """The task tables those coordinators last published (TaskInfo records)."""
    tasks: list[Record] = []
    for coordinator_id in coordinator_ids:
        table = read_json(_state(root) / "tasks" / f"{coordinator_id}.json")
        if isinstance(table, list):
            tasks.extend(t for t in table if _task_record(t))
    return tasks


def _task_record(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("task"), dict) \
        and isinstance(value["task"].get("id"), str) and value.get("status") in _STATUSES


_STATUSES = {s.value for s in TaskStatus}


@contextlib.contextmanager
def _history(root: Path) -> Iterator[sqlite3.Connection | None]:
    path = _state(root) / HISTORY_FILE
    if not path.is_file():
        if os.path.lexists(path):
            check_trusted(path)  # a symlink is refused as such
            raise unavailable(OSError(errno.EISDIR, "a folder or other non-file is there"))
        yield None
        return
    check_trusted(path)
    # Read-only: a status line never creates or migrates the history.
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        yield db
    finally:
        db.close()


def recent_query(columns: str, since: datetime | None = None, limit: int | None = None,
                 ) -> tuple[str, list[object]]:
    """The history's query for recorded tasks, newest first (shared with :mod:`.history`)."""
    query = f"SELECT {columns} FROM tasks WHERE info IS NOT NULL"
    args: list[object] = []
    if since is not None:
        query += " AND updated_at >= ?"
        args.append(since.isoformat())
    query += " ORDER BY updated_at DESC"
    if limit is not None:
        query += " LIMIT ?"
        args.append(limit)
    return query, args


def history(root: Path, since: datetime | None = None) -> list[tuple[Record, str]]:
    """Recorded tasks (TaskInfo record, log path), newest first; ``since`` bounds them."""
    query, args = recent_query("info, log_path", since)
    with _history(root) as db:
        if db is None:
            return []
        try:
            rows = db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                return []  # created, not yet prepared
            if not is_damage(exc) and not _is_busy(exc):
                raise unavailable(exc) from None  # the disk, not the file
            then = ("the next run keeps it aside and starts a new one" if is_damage(exc)
                    else "try again in a moment")
            raise HistoryUnreadableError(
                f"the task history {STATE_DIR_NAME}/{HISTORY_FILE} cannot be read ({exc}); "
                f"{then}") from None
    found: list[tuple[Record, str]] = []
    for info, log_path in rows:
        with contextlib.suppress(ValueError, TypeError):
            record = json.loads(info)
            if _task_record(record):
                found.append((record, log_path or ""))
    return found


def leases(root: Path, now: datetime | None = None,
           unreadable: list[str] | None = None) -> list[Record]:
    """Live leases (LockRecord records: not expired, owner alive), by path then task.

    Lease files under ``.yui/locks`` that hold no lease table (damaged, or by hand) count as
    holding nothing; their names go to ``unreadable`` when it is given."""
    now = now or datetime.now(UTC)
    found: list[Record] = []
    for path in _json_files(_state(root) / "locks"):
        records = read_json(path)
        if not isinstance(records, list):
            if unreadable is not None and os.path.lexists(path):
                unreadable.append(f"{STATE_DIR_NAME}/locks/{path.name}")
            continue
        for record in records:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                if parse_time(record["expires_at"]) > now and alive_here(
                        record["host"], record["owner_pid"]):
                    found.append(record)
    return sorted(found, key=lambda r: (str(r.get("file_path")), str(r.get("locked_by"))))


def parse_time(text: object) -> datetime:
    """A protocol timestamp (ISO 8601, UTC ``Z``) as an aware datetime."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TaskRow:
    """What ``yui status`` shows of one TaskInfo record."""

    id: str
    title: str
    status: TaskStatus
    progress: float
    agent: str
    coordinator_id: str
    note: str
    files: int
    submitted_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: Record) -> TaskRow:
        task = record["task"]
        epoch = datetime.fromtimestamp(0, UTC)

        def when(key: str) -> datetime:
            try:
                return parse_time(record.get(key))
            except ValueError:
                return epoch

        progress = record.get("progress")
        return cls(
            id=task["id"], title=str(task.get("title") or ""),
            status=TaskStatus(record["status"]),
            progress=float(progress) if isinstance(progress, int | float) else 0.0,
            agent=str(task.get("agent") or ""),
            coordinator_id=str(record.get("coordinator_id") or ""),
            note=str(record.get("error") or record.get("message") or ""),
            files=len(record.get("files_modified") or ()),
            submitted_at=when("submitted_at"), updated_at=when("updated_at"),
        )
