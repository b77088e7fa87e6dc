"""The lease table: which task may change which paths, shared by every process on a repo.

Each task's leases are one JSON file ``.yui/locks/<task_id>.json`` (a list of
:class:`~yui_lsp.protocol.LockRecord`). Files there are written only while holding the
``filelock`` on ``.yui/locks/.table.lock``, so every editor window and every ``yui`` run on
the machine sees one consistent table. Acquisition checks all claims of a task at once and
writes all or none, so waits cannot deadlock. Leases expire unless renewed by a heartbeat,
and the lease of a process that died on this host is reclaimed at once.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path

import anyio
import psutil
from filelock import FileLock, Timeout
from pydantic import TypeAdapter, ValidationError

from yui_lsp.errors import LeaseError
from yui_lsp.protocol import LockRecord, LockType, utcnow
from yui_lsp.workspace.paths import ClaimSet, claims_overlap, path_matches, validate_claims
from yui_lsp.workspace.statedir import (
    PRIVATE_FILE_MODE,
    check_trusted,
    private_dir,
    state_dir,
    write_durably,
)

_RECORDS = TypeAdapter(list[LockRecord])
#: Longest time a process waits for another one to finish editing the table.
_TABLE_LOCK_TIMEOUT_S = 30.0
_WAIT_START_S = 0.05
_WAIT_MAX_S = 1.0
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
#: The order of a lease table: by path, then task.
_BY_PATH = attrgetter("file_path", "locked_by")


def _owner_alive(owner_host: str, pid: int, host: str, seen: dict[int, bool]) -> bool:
    if owner_host != host:
        return True  # another machine (shared folder): only expiry can tell
    # A task's records share one owner: ask the OS once per pid and pass over the table.
    if pid not in seen:
        seen[pid] = psutil.pid_exists(pid)
    return seen[pid]


class _Parsed:
    """One lease file as parsed, with what tells whether all its leases still hold."""

    __slots__ = ("earliest", "key", "owners", "records")

    def __init__(self, key: tuple[int, int, int], records: list[LockRecord]) -> None:
        #: (inode, mtime, size) of the file when it was parsed.
        self.key = key
        self.records = records
        self.earliest = min((r.expires_at for r in records), default=_FAR_FUTURE)
        self.owners = {(r.host, r.owner_pid) for r in records}


_PROCESS_LOCKS: dict[Path, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(path: Path) -> threading.Lock:
    """This process's lock for the table lock file ``path`` (one per file, never dropped)."""
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(path, threading.Lock())


class _TableHold:
    """The lease table held: by this thread in the process, and by the process on disk."""

    def __init__(self, in_process: threading.Lock, on_disk: FileLock) -> None:
        self._in_process = in_process
        self._on_disk = on_disk

    def release(self) -> None:
        try:
            self._on_disk.release()
        finally:
            self._in_process.release()


class LeaseTable:
    """One repository's lease table, seen from one coordinator."""

    def __init__(self, root: Path, coordinator_id: str, ttl_s: float) -> None:
        self.root = Path(root)
        self.coordinator_id = coordinator_id
        self.ttl_s = ttl_s
        self.folder = private_dir(state_dir(self.root) / "locks")
        self._lock_path = self.folder / ".table.lock"
        self._host = socket.gethostname()
        self._pid = os.getpid()
        #: Parsed lease files by name, with the (inode, mtime, size) they were parsed at: a
        #: table of thousands of leases is parsed again only where a file changed.
        self._parsed: dict[str, _Parsed] = {}
        self._parsed_lock = threading.Lock()
        #: Other tasks' leases prepared for overlap checks, by task (see ``_claim_set``).
        self._claim_sets: dict[str, tuple[tuple[str, ...], ClaimSet]] = {}

    # ----------------------------------------------------------------- table storage

    def _table_lock(self) -> FileLock:
        # A fresh lock object each time: filelock objects are re-entrant within a thread
        # and shared between threads, which would let two worker threads in together.
        return FileLock(self._lock_path, timeout=_TABLE_LOCK_TIMEOUT_S, thread_local=False,
                        mode=PRIVATE_FILE_MODE)

    def _task_file(self, task_id: str) -> Path:
        return self.folder / f"{task_id}.json"

    def _load_all(self) -> dict[str, _Parsed]:
        table: dict[str, _Parsed] = {}
        fresh: dict[str, _Parsed] = {}
        with self._parsed_lock:
            parsed = self._parsed
        for entry in self.folder.glob("*.json"):
            # A lease someone else could have written would let them hold any path.
            check_trusted(entry)
            try:
                st = entry.stat()
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                hit = parsed.get(entry.name)
                if hit is None or hit.key != key:
                    hit = _Parsed(key, _RECORDS.validate_json(entry.read_bytes()))
            except (OSError, ValidationError):
                # A file another version of yui wrote, or one half-copied by hand: it
                # cannot be trusted as a lease, so it is treated as absent.
                continue
            fresh[entry.name] = hit
            table[entry.stem] = hit
        with self._parsed_lock:
            self._parsed = fresh
        return table

    def _store(self, task_id: str, records: list[LockRecord]) -> None:
        path = self._task_file(task_id)
        if records:
            data = _RECORDS.dump_json(records, indent=1)
            write_durably(path, data)
        else:
            path.unlink(missing_ok=True)

    def _live_table(self) -> dict[str, list[LockRecord]]:
        """The table with expired and dead-owner leases removed (caller holds the lock).
        A lease file whose earliest expiry is still ahead and whose owners live is taken as
        it is, without looking at each of its (maybe thousands of) records."""
        now = utcnow()
        table: dict[str, list[LockRecord]] = {}
        seen: dict[int, bool] = {}
        for task_id, parsed in self._load_all().items():
            records = parsed.records
            if parsed.earliest > now and all(
                    _owner_alive(host, pid, self._host, seen) for host, pid in parsed.owners):
                live = records
            else:
                live = [r for r in records
                        if r.expires_at > now and _owner_alive(r.host, r.owner_pid,
                                                               self._host, seen)]
                if len(live) != len(records):
                    self._store(task_id, live)
            if live:
                table[task_id] = live
        return table

    def _locked(self) -> _TableHold:
        # Threads of this process queue on a lock of the process first: a thread waiting on
        # the file lock polls it (every 50 ms), one waiting here wakes when it is free.
        in_process = _process_lock(self._lock_path)
        lock = self._table_lock()
        deadline = time.monotonic() + _TABLE_LOCK_TIMEOUT_S
        try:
            if not in_process.acquire(timeout=_TABLE_LOCK_TIMEOUT_S):
                raise Timeout(str(self._lock_path))
            try:
                lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            except BaseException:
                in_process.release()
                raise
        except Timeout:
            raise LeaseError(
                f"the lease table {self._lock_path} stayed locked for {_TABLE_LOCK_TIMEOUT_S:.0f}s"
                " (another yui process is stuck; end it or run `yui recover`)"
            ) from None
        return _TableHold(in_process, lock)

    # ----------------------------------------------------------------- acquisition

    def _blocker(
        self, table: dict[str, list[LockRecord]], task_id: str, claims: list[str],
        lock_type: LockType,
    ) -> LockRecord | None:
        mine = ClaimSet(claims)
        for gone in self._claim_sets.keys() - table.keys():
            del self._claim_sets[gone]
        for other_task, records in sorted(table.items()):
            if other_task == task_id:
                continue
            relevant = [
                r for r in records
                if not (lock_type is LockType.SHARED and r.lock_type is LockType.SHARED)
            ]
            if not relevant or not mine.overlaps(self._claim_set(other_task, relevant)):
                continue
            # Name the first record in the way (rare path: only when we must wait).
            for claim in sorted(claims):
                for record in relevant:
                    if claims_overlap([claim], [record.file_path]):
                        return record
        return None

    def _claim_set(self, task_id: str, records: list[LockRecord]) -> ClaimSet:
        """The paths of ``records`` as a ClaimSet, built again only when they changed: a
        task holding thousands of leases is checked against every other task's acquisition
        (the caller holds the table lock)."""
        paths = tuple(r.file_path for r in records)
        cached = self._claim_sets.get(task_id)
        if cached is None or cached[0] != paths:
            cached = self._claim_sets[task_id] = (paths, ClaimSet(list(paths)))
        return cached[1]

    def _attempt(
        self, task_id: str, claims: list[str], lock_type: LockType, agent: str, title: str
    ) -> tuple[list[LockRecord] | None, LockRecord | None]:
        validate_claims(claims)
        lock = self._locked()
        try:
            table = self._live_table()
            blocker = self._blocker(table, task_id, claims, lock_type)
            if blocker is not None:
                return None, blocker
            now = utcnow()
            expires = now + timedelta(seconds=self.ttl_s)
            held = {r.file_path: r for r in table.get(task_id, [])}
            for claim in sorted(set(claims)):
                held[claim] = LockRecord(
                    file_path=claim, locked_by=task_id, lock_type=lock_type,
                    acquired_at=held[claim].acquired_at if claim in held else now,
                    expires_at=expires, owner_pid=self._pid, host=self._host,
                    coordinator_id=self.coordinator_id, agent=agent, task_title=title,
                )
            records = [held[k] for k in sorted(held)]
            self._store(task_id, records)
            wanted = set(claims)
            return [r for r in records if r.file_path in wanted], None
        finally:
            lock.release()

    def try_acquire(
        self, task_id: str, claims: list[str], lock_type: LockType = LockType.EXCLUSIVE,
        *, agent: str = "", title: str = "",
    ) -> list[LockRecord] | None:
        """Lease every claim for ``task_id``, or none of them (None) if any is taken."""
        records, _ = self._attempt(task_id, claims, lock_type, agent, title)
        return records

    async def acquire(
        self, task_id: str, claims: list[str], lock_type: LockType = LockType.EXCLUSIVE,
        *, agent: str = "", title: str = "",
        on_wait: Callable[[LockRecord], None] | None = None,
    ) -> list[LockRecord]:
        """Wait until every claim is leased; ``on_wait`` hears once who is in the way."""
        delay = _WAIT_START_S
        told = False
        while True:
            records, blocker = await anyio.to_thread.run_sync(
                self._attempt, task_id, claims, lock_type, agent, title
            )
            if records is not None:
                return records
            if blocker is not None and on_wait is not None and not told:
                on_wait(blocker)
                told = True
            await anyio.sleep(delay)
            delay = min(delay * 2, _WAIT_MAX_S)

    # ----------------------------------------------------------------- upkeep

    def release(self, task_id: str) -> bool:
        """Drop every lease of ``task_id``; False when it held none."""
        path = self._task_file(task_id)
        if not path.exists():
            return False  # nothing of ours to drop: skip the table lock
        lock = self._locked()
        try:
            existed = path.exists()
            path.unlink(missing_ok=True)
        finally:
            lock.release()
        return existed

    def renew(self, task_ids: Iterable[str]) -> None:
        """Push the expiry of our leases of ``task_ids`` one TTL into the future."""
        wanted = set(task_ids)
        if not wanted:
            return
        lock = self._locked()
        try:
            expires = utcnow() + timedelta(seconds=self.ttl_s)
            for task_id, parsed in self._load_all().items():
                records = parsed.records
                if task_id not in wanted:
                    continue
                mine = [r for r in records if r.coordinator_id == self.coordinator_id]
                if mine:
                    self._store(
                        task_id,
                        [r.model_copy(update={"expires_at": expires}) for r in records],
                    )
        finally:
            lock.release()

    async def heartbeat(
        self, task_ids_provider: Callable[[], Iterable[str]], interval_s: float
    ) -> None:
        """Renew the leases of the running tasks every ``interval_s``; run in a task group."""
        while True:
            await anyio.sleep(interval_s)
            ids = list(task_ids_provider())
            await anyio.to_thread.run_sync(self.renew, ids)

    def release_all_of_coordinator(self) -> None:
        """Drop every lease this coordinator holds (on shutdown)."""
        lock = self._locked()
        try:
            for task_id, parsed in self._load_all().items():
                records = parsed.records
                kept = [r for r in records if r.coordinator_id != self.coordinator_id]
                if len(kept) != len(records):
                    self._store(task_id, kept)
        finally:
            lock.release()

    # ----------------------------------------------------------------- queries

    def records(self) -> list[LockRecord]:
        """Every live lease, sorted by path; expired and dead owners' leases are reclaimed."""
        lock = self._locked()
        try:
            table = self._live_table()
        finally:
            lock.release()
        return sorted((r for records in table.values() for r in records), key=_BY_PATH)

    def holder(self, rel_path: str, exclude_task: str | None = None) -> LockRecord | None:
        """The lease covering ``rel_path`` (exclusive first), other than ``exclude_task``'s."""
        return self.holders([rel_path], exclude_task)[rel_path]

    def holders(self, rel_paths: list[str], exclude_task: str | None = None,
                ) -> dict[str, LockRecord | None]:
        """:meth:`holder` of each path, from one reading of the table."""
        records = [r for r in self.records() if r.locked_by != exclude_task]
        found: dict[str, LockRecord | None] = {}
        for rel_path in rel_paths:
            covering = [r for r in records if path_matches(rel_path, [r.file_path])]
            covering.sort(key=lambda r: r.lock_type is not LockType.EXCLUSIVE)
            found[rel_path] = covering[0] if covering else None
        return found

    def table_version(self) -> float:
        """Changes whenever any process changes the table (the folder's mtime); cheap."""
        try:
            return self.folder.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return 0.0

    def dump(self) -> str:
        """The table as JSON text (for ``yui locks --json``)."""
        return json.dumps([r.model_dump(mode="json") for r in self.records()], indent=1)
