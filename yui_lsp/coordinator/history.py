"""The task history of a repository: every task of the last days, whichever run it was in.

One SQLite file, ``.yui/history.sqlite3`` (transactional, concurrent readers, shared by every
coordinator on the repository), holds each task as last seen: its spec, status, agent,
times, files changed, error, metrics and log path. It is also where task ids are made
unique per repository: :meth:`History.reserve` hands out ids in one transaction, so two
runs (or two coordinators at once) asking for the same id get distinct ones, and every
per-task path keyed by the id (journal, backup, log, temp names) stays distinct too.

Every method blocks (file I/O): coordinators call them from worker threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from yui_lsp.coordinator.glance import HISTORY_FILE, is_damage, recent_query, unavailable
from yui_lsp.errors import YuiError
from yui_lsp.protocol import Task, TaskInfo, TaskStatus, utcnow
from yui_lsp.redact import redact
from yui_lsp.workspace.statedir import (
    PRIVATE_FILE_MODE,
    STATE_DIR_NAME,
    open_private,
    state_dir,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    coordinator_id TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    info TEXT,
    metrics TEXT,
    log_path TEXT
);
CREATE INDEX IF NOT EXISTS tasks_updated ON tasks (updated_at);
"""

log = logging.getLogger(__name__)

#: History files (device, inode, size, mtime) this process found sound.
_CHECKED: set[tuple[int, int, int, int]] = set()


class _DamagedError(Exception):
    """The history's pages do not add up (``PRAGMA quick_check`` says what is wrong)."""


#: Longest wait for the history: another process preparing it, or holding its write lock.
_PREPARE_TIMEOUT_S = 30.0
#: How often a process waiting to prepare the history tries the lock (held a few ms).
_PREPARE_POLL_S = 0.005


@dataclass(frozen=True)
class HistoryEntry:
    """One task as the history last saw it."""

    info: TaskInfo
    metrics: dict[str, float]
    #: Workspace-relative path of the agent's log (it may never have been written).
    log_path: str


class History:
    """The repository's task history (blocking calls; one connection, used by one at a time)."""

    def __init__(self, root: Path, keep_days: float = 30.0, keep_tasks: int = 5000) -> None:
        self.root = Path(root)
        self.keep_days = keep_days
        self.keep_tasks = keep_tasks
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @property
    def path(self) -> Path:
        return self.root / ".yui" / HISTORY_FILE

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = _open(state_dir(self.root) / HISTORY_FILE)
        return self._db

    @contextlib.contextmanager
    def _held(self) -> Iterator[sqlite3.Connection]:
        """The connection, this thread's alone; a disk that fails it is said plainly."""
        with self._lock:
            try:
                yield self._conn()
            except (OSError, sqlite3.OperationalError) as exc:
                raise unavailable(exc) from None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ------------------------------------------------------------------ ids

    def reserve(self, coordinator_id: str, ids: list[str]) -> dict[str, str]:
        """Claim ``ids`` for a new run; an id the history already holds gets a run suffix.

        Returns requested id → the id the task runs under (``api`` → ``api-r2`` when an
        earlier run had an ``api``). Atomic across processes.
        """
        now = utcnow().isoformat()
        granted: dict[str, str] = {}
        backups = self.root / STATE_DIR_NAME / "backups"
        with self._held() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for wanted in ids:
                    candidate, run = wanted, 1
                    while candidate in granted.values() or _taken(db, backups, candidate):
                        run += 1
                        candidate = f"{wanted}-r{run}"
                    db.execute(
                        "INSERT INTO tasks (id, coordinator_id, status, submitted_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (candidate, coordinator_id, TaskStatus.PENDING.value, now, now),
                    )
                    granted[wanted] = candidate
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite ends it itself on a full disk
                    db.execute("ROLLBACK")
                raise
        return granted

    # ------------------------------------------------------------------ records

    def record(self, entries: Iterable[HistoryEntry]) -> None:
        """Save the latest state of these tasks (one transaction)."""
        rows = [
            (e.info.task.id, e.info.coordinator_id, e.info.status.value,
             e.info.submitted_at.isoformat(), e.info.updated_at.isoformat(),
             # Secrets in a prompt or command never reach the disk (docs/security.md).
             redact(e.info.model_dump_json()), json.dumps(e.metrics), e.log_path)
            for e in entries
        ]
        if not rows:
            return
        with self._held() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO tasks (id, coordinator_id, status, submitted_at, updated_at,"
                    " info, metrics, log_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET coordinator_id = excluded.coordinator_id,"
                    " status = excluded.status, updated_at = excluded.updated_at,"
                    " info = excluded.info, metrics = excluded.metrics,"
                    " log_path = excluded.log_path",
                    rows,
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite ends it itself on a full disk
                    db.execute("ROLLBACK")
                raise

    def prune(self) -> int:
        """Forget tasks older than ``keep_days`` and beyond the newest ``keep_tasks``."""
        cutoff = (utcnow() - timedelta(days=self.keep_days)).isoformat()
        with self._held() as db:
            gone = db.execute("DELETE FROM tasks WHERE updated_at < ?", (cutoff,)).rowcount
            gone += db.execute(
                "DELETE FROM tasks WHERE id NOT IN "
                "(SELECT id FROM tasks ORDER BY updated_at DESC LIMIT ?)", (self.keep_tasks,)
            ).rowcount
        return gone

    # ------------------------------------------------------------------ reading

    def get(self, task_id: str) -> HistoryEntry | None:
        """The task ``task_id`` as last recorded, or None."""
        if not self.path.exists():
            return None
        with self._held() as db:
            row = db.execute(
                "SELECT info, metrics, log_path FROM tasks WHERE id = ?", (task_id,)
            ).fetchone()
        return _entry(row) if row else None

    def recent(self, since: datetime | None = None, limit: int | None = None,
               ) -> list[HistoryEntry]:
        """Recorded tasks, newest first (only those updated after ``since``)."""
        if not self.path.exists():
            return []
        query, args = recent_query("info, metrics, log_path", since, limit)
        with self._held() as db:
            rows = db.execute(query, args).fetchall()
        return [e for e in (_entry(row) for row in rows) if e is not None]


def _taken(db: sqlite3.Connection, backups: Path, task_id: str) -> bool:
    # A backup under the id counts too: a history set aside for damage (see _open) forgets
    # ids whose backups ``yui undo`` still needs, and landing would replace them.
    return bool(db.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone()) \
        or os.path.lexists(backups / task_id)


def _open(path: Path) -> sqlite3.Connection:
    """A connection to the history at ``path``, created (WAL, with its tables) if need be.

    Switching a file to WAL (done once, by whoever opens it first) reads its header, then
    writes it; SQLite cannot wait for a write lock while holding a read one (that could
    deadlock), so two processes doing it at once get "database is locked" at once, whatever
    the busy timeout. Preparing the file is therefore one process at a time, under a file
    lock; every other statement waits its turn through the busy timeout, which
    ``sqlite3.connect`` sets before any statement runs.
    """
    preparing = FileLock(path.with_name(path.name + ".lock"), timeout=_PREPARE_TIMEOUT_S,
                         thread_local=False, mode=PRIVATE_FILE_MODE, poll_interval=_PREPARE_POLL_S)
    try:
        with preparing:
            try:
                db = _prepare(path)
            except (sqlite3.DatabaseError, _DamagedError) as exc:
                if not isinstance(exc, _DamagedError) and not is_damage(exc):
                    raise
                _set_aside(path, exc)
                db = _prepare(path)
    except Timeout:
        raise YuiError(
            f"another yui process has been preparing {path} for {_PREPARE_TIMEOUT_S:.0f} s; "
            "if one is stuck, stop it (its hold ends with it) and try again") from None
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _prepare(path: Path) -> sqlite3.Connection:
    # Owner-only from the first byte: prompts and commands are in here.
    os.close(open_private(path, os.O_RDWR | os.O_CREAT))
    db = sqlite3.connect(path, timeout=_PREPARE_TIMEOUT_S, isolation_level=None,
                         check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # no write when it already is
        db.executescript(_SCHEMA)  # no write when the tables are there
        # A damaged page past the header shows only when it is read: each process reads
        # every page once (about 15 ms for 5,000 tasks).
        file = os.stat(path)
        seen = (file.st_dev, file.st_ino, file.st_size, file.st_mtime_ns)
        if seen not in _CHECKED:
            problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise _DamagedError(problem)
            _CHECKED.add(seen)
    except BaseException:
        db.close()
        raise
    return db


def _set_aside(path: Path, why: Exception) -> None:
    """Keep a damaged history (and its WAL) under a new name, for a new one to start.

    The history is a record, not a source of truth (the audit log and the backups are): a
    run goes on without it rather than fail on every start, and nothing is deleted.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():  # damaged twice in a second: keep both
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    log.warning("the task history %s cannot be read (%s); it is kept as %s and a new one "
                "is started", path, why, aside.name)


def recent_tasks(root: Path, limit: int) -> list[TaskInfo]:
    """The ``limit`` most recently updated tasks of the history, newest first (blocking)."""
    history = History(root)
    try:
        return [entry.info for entry in history.recent(limit=limit)]
    finally:
        history.close()


def _entry(row: tuple[str | None, str | None, str | None]) -> HistoryEntry | None:
    info, metrics, log_path = row
    if info is None:
        return None  # reserved, not yet recorded
    try:
        parsed = TaskInfo.model_validate_json(info)
    except ValidationError:
        return None  # written by another version of yui
    return HistoryEntry(info=parsed, metrics=json.loads(metrics or "{}"), log_path=log_path or "")


def renamed(task: Task, new_id: str, id_map: dict[str, str]) -> Task:
    """``task`` under ``new_id`` (its own id kept as the title), dependencies mapped too."""
    depends_on = [id_map.get(d, d) for d in task.depends_on]
    if new_id == task.id and depends_on == task.depends_on:
        return task  # no copy: a coordinator holds thousands of tasks
    update: dict[str, object] = {"depends_on": depends_on}
    if new_id != task.id:
        update["id"] = new_id
        if not task.title:
            update["title"] = task.id
    return task.model_copy(update=update)
