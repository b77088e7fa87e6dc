"""The lease table as the editor was last shown it, and what changed since.

A big run holds thousands of leases (a 5,000-file refactor, another process's task), and the
table changes a task at a time: one task takes its leases, another renews or drops them.
Sending the whole table after each change (~1.4 MB for 5,000 leases) would keep the server
encoding and the editor parsing megabytes every second, and every answer queued behind them
waits. So ``yui/locksChanged`` carries the leases of the tasks that changed (see
:class:`~yui_lsp.server.params.LocksChangedNotification`), and the table is compared a task
at a time: a task whose lease file did not change keeps the very same records, and two
tuples of the same objects compare in C without looking inside.

A :class:`LeaseBoard` is a folder's table as shown. :meth:`LeaseBoard.change` runs in a
worker thread and returns what differs from the board as it was; :meth:`LeaseBoard.commit`
(on the event loop) takes it only if nothing was committed meanwhile, so the notifications
a client receives always apply, in order, to the table it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

from yui_lsp.protocol import LockRecord
from yui_lsp.workspace import ClaimSet, path_matches

Leases = tuple[LockRecord, ...]
#: The order leases are sent in: by path, then task.
_BY_PATH = attrgetter("file_path", "locked_by")


class _Lookup:
    """A task's leases prepared for "which lease covers this path" (built off the loop)."""

    __slots__ = ("by_path", "claims", "globs")

    def __init__(self, leases: Leases) -> None:
        self.claims = ClaimSet([r.file_path for r in leases])
        self.by_path = {r.file_path: r for r in leases}
        self.globs = [r for r in leases if any(c in r.file_path for c in "*?[{")]

    def covering(self, rel: str) -> LockRecord | None:
        if not self.claims.covers(rel):
            return None
        parts = rel.split("/")
        for depth in range(len(parts), 0, -1):  # the file, then its folders, deepest first
            named = self.by_path.get("/".join(parts[:depth]))
            if named is not None:
                return named
        for record in self.globs:
            if path_matches(rel, [record.file_path]):
                return record
        return next(iter(self.by_path.values()))


@dataclass(frozen=True)
class LeaseChange:
    """What differs between a board and a fresh reading of the table."""

    #: The board's version it was computed against.
    base: int
    #: The whole table now, by task.
    table: dict[str, Leases]
    #: The leases of each task that changed (empty: it holds none any more).
    changed: dict[str, Leases]
    #: Each changed task that holds leases, prepared for path lookups.
    lookups: dict[str, _Lookup]
    #: Whether this is the first table shown: then ``changed`` is the whole table.
    first: bool

    def leases(self) -> list[LockRecord]:
        """The records to send: the changed tasks' leases, by path."""
        return sorted((r for leases in self.changed.values() for r in leases), key=_BY_PATH)


@dataclass
class LeaseBoard:
    """One folder's lease table as the editor was last shown it."""

    version: int = 0
    _table: dict[str, Leases] = field(default_factory=dict)
    _lookups: dict[str, _Lookup] = field(default_factory=dict)

    def change(self, locks: Iterable[LockRecord]) -> LeaseChange | None:
        """What ``locks`` (the whole table, read now) changes, or None when nothing did
        (and it is not the first table). Safe in a worker thread: it only reads the board."""
        base, shown = self.version, self._table
        table: dict[str, list[LockRecord]] = {}
        for record in locks:
            table.setdefault(record.locked_by, []).append(record)
        now = {task: tuple(records) for task, records in table.items()}
        changed = {task: leases for task, leases in now.items() if shown.get(task) != leases}
        changed.update((task, ()) for task in shown if task not in now)
        if not changed and base > 0:
            return None
        lookups = {task: _Lookup(leases) for task, leases in changed.items() if leases}
        return LeaseChange(base, now, changed, lookups, first=base == 0)

    def commit(self, change: LeaseChange) -> bool:
        """Take ``change`` as shown; False (and nothing changes) when another change was
        committed since it was computed: compute it again."""
        if change.base != self.version:
            return False
        self._table = change.table
        for task, leases in change.changed.items():
            if leases:
                self._lookups[task] = change.lookups[task]
            else:
                self._lookups.pop(task, None)
        self.version += 1
        return True

    def records(self) -> list[LockRecord]:
        """Every lease shown, by path."""
        return sorted((r for leases in self._table.values() for r in leases), key=_BY_PATH)

    def covering(self, rel: str) -> list[LockRecord]:
        """One lease of each task whose claims cover the workspace-relative ``rel``: a
        lookup per task, however many files it leases."""
        found = (lookup.covering(rel) for lookup in self._lookups.values())
        return [record for record in found if record is not None]

    def title(self, task_id: str) -> str | None:
        """The title the leases of ``task_id`` carry, if any."""
        return next((r.task_title for r in self._table.get(task_id, ()) if r.task_title), None)
