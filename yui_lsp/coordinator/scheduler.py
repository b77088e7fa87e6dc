"""The coordinator's pure core: the task table and the scheduler, with no I/O.

:class:`Scheduler` holds every task record of one coordinator, keeps the ready queue
(priority, then submission order), decides which queued tasks start (free workers, the
agent's own concurrency limit, claims that must not overlap, resources), releases
dependents when a task ends and forgets old results past the retention. :class:`RetryPolicy`
says, as data, what happens after a failed attempt or a conflict. Nothing here touches the
file system, starts a process or awaits: the manager feeds events in (submitted, started,
ended) and acts on the decisions that come out, so the whole of it is tested synchronously.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from yui_lsp.coordinator.records import TaskRecord
from yui_lsp.protocol import TaskStatus

#: Called on every change a front end should see (status, message, progress).
OnChange = Callable[[TaskRecord], None]
#: Asked before a task starts while others run: why resources are short, or None.
Shortage = Callable[[], str | None]


@dataclass(frozen=True)
class RetryPolicy:
    """What happens after a failed attempt or a conflicting result (one owner for both)."""

    #: Failed attempts retried before the task fails.
    max_retries: int
    #: Wait before the first retry; doubles with each further one.
    backoff_s: float
    #: Conflicting results re-run on the current files before the task ends in conflict.
    conflict_retries: int

    def retry_after_failure(self, failures: int, retryable: bool = True) -> float | None:
        """Seconds to wait before attempt ``failures + 1``, or None: the task fails."""
        if not retryable or failures > self.max_retries:
            return None
        return float(self.backoff_s * 2 ** (failures - 1))

    def rerun_after_conflict(self, conflicts: int) -> bool:
        """True when the ``conflicts``-th conflicting result is re-run on the current files."""
        return conflicts <= self.conflict_retries


class KnownIds:
    """Ids a coordinator knows (live records and forgotten ones), without copying them."""

    def __init__(self, *tables: Mapping[str, object]) -> None:
        self._tables = tables

    def __contains__(self, task_id: object) -> bool:
        return any(task_id in table for table in self._tables)


class Scheduler:
    """Task table, ready queue and start decisions of one coordinator (synchronous)."""

    def __init__(self, retention: int, on_change: OnChange, on_end: OnChange) -> None:
        self.retention = retention
        self._on_change = on_change
        self._on_end = on_end
        self.records: dict[str, TaskRecord] = {}
        #: Tasks between start and end of a run (acquiring, running, integrating).
        self.running: dict[str, TaskRecord] = {}
        self.unfinished: set[str] = set()
        #: Ended tasks in the order they ended; beyond ``retention`` only their status stays.
        self._ended: deque[str] = deque()
        self.forgotten: dict[str, TaskStatus] = {}
        self._dependents: dict[str, list[str]] = {}
        self._ready: list[tuple[int, int, str]] = []
        self._seq = 0
        self._free_slots: dict[str, list[int]] = {}
        #: Why queued tasks wait although workers are free (resources), or None.
        self.waiting_reason: str | None = None

    # ------------------------------------------------------------------ the table

    @property
    def known(self) -> KnownIds:
        return KnownIds(self.records, self.forgotten)

    def status_of(self, task_id: str) -> TaskStatus:
        rec = self.records.get(task_id)
        return rec.status if rec is not None else self.forgotten[task_id]

    def add(self, records: list[TaskRecord]) -> None:
        """Take validated new records in (ids unique, dependencies known) and queue them."""
        for rec in records:
            self._seq += 1
            rec.seq = self._seq
            self.records[rec.id] = rec
            self.unfinished.add(rec.id)
            for dep in rec.task.depends_on:
                self._dependents.setdefault(dep, []).append(rec.id)
            self._on_change(rec)
        for rec in records:
            self.enqueue_if_ready(rec)

    def enqueue_if_ready(self, rec: TaskRecord) -> None:
        """Queue ``rec`` if its dependencies completed, fail it if one did not, else block."""
        deps = {d: self.status_of(d) for d in rec.task.depends_on}
        failed = next(
            ((d, s) for d, s in deps.items() if s.terminal and s != TaskStatus.COMPLETED), None
        )
        if failed is not None:
            self.finish(
                rec,
                TaskStatus.FAILED,
                f"not started: dependency {failed[0]!r} ended {failed[1].value}",
            )
        elif all(s == TaskStatus.COMPLETED for s in deps.values()):
            rec.status, rec.queued_at = TaskStatus.QUEUED, time.monotonic()
            rec.message = ""
            bisect.insort(self._ready, (-rec.task.priority, rec.seq, rec.id))
            self._on_change(rec)
        elif rec.status != TaskStatus.BLOCKED:
            rec.status = TaskStatus.BLOCKED
            rec.message = "waiting for " + ", ".join(
                d for d, s in deps.items() if s != TaskStatus.COMPLETED
            )
            self._on_change(rec)

    # ------------------------------------------------------------------ starting

    def pick(self, max_workers: int, shortage: Shortage) -> list[TaskRecord]:
        """The queued tasks to start now, each marked acquiring with its worker slot."""
        active = list(self.running.values())
        started: list[TaskRecord] = []
        reason = None
        kept: list[tuple[int, int, str]] = []
        for index, entry in enumerate(self._ready):
            if len(active) >= max_workers:
                kept.extend(self._ready[index:])  # no free worker: the rest stays in order
                break
            rec = self.records.get(entry[2])
            if rec is None or rec.status != TaskStatus.QUEUED:
                continue  # cancelled while queued
            if not self.fits(rec, active):
                kept.append(entry)
                continue
            short = shortage() if active else None
            if short:
                # Nothing behind this task may overtake it while resources are short.
                reason = short
                if rec.message != short:
                    rec.message = short
                    self._on_change(rec)
                kept.extend(self._ready[index:])
                break
            rec.status = TaskStatus.ACQUIRING
            rec.message = ""
            rec.slot = self._take_slot(rec.task.agent)
            rec.agent_id = f"{rec.task.agent}_worker_{rec.slot}"
            active.append(rec)
            self.running[rec.id] = rec
            started.append(rec)
        self._ready = kept
        self.waiting_reason = reason
        return started

    @staticmethod
    def fits(rec: TaskRecord, active: list[TaskRecord]) -> bool:
        """May ``rec`` run beside ``active``: agent limit, and no exclusive claim overlap."""
        profile = rec.profile
        if profile.max_concurrent is not None:
            same = sum(1 for a in active if a.task.agent == rec.task.agent)
            if same >= profile.max_concurrent:
                return False
        if not rec.claim_set:
            return True
        return not any(
            a.claim_set
            and a.claim_set.overlaps(rec.claim_set)
            and "exclusive" in (a.task.lock_type.value, rec.task.lock_type.value)
            for a in active
        )

    def _take_slot(self, agent: str) -> int:
        slots = self._free_slots.setdefault(agent, [])
        if slots:
            return slots.pop(0)
        used = {r.slot for r in self.running.values() if r.task.agent == agent and r.slot}
        return next(i for i in range(1, len(used) + 2) if i not in used)

    def stopped(self, rec: TaskRecord) -> None:
        """A run let go of everything it held: its worker slot is free, its waiters wake."""
        if self.running.pop(rec.id, None) is not None and rec.slot:
            bisect.insort(self._free_slots.setdefault(rec.task.agent, []), rec.slot)
        rec.slot = 0
        if rec.status.terminal:
            rec.done.set()

    # ------------------------------------------------------------------ state changes

    def set_status(self, rec: TaskRecord, status: TaskStatus, message: str = "") -> None:
        rec.status, rec.message = status, message
        if status == TaskStatus.INTEGRATING:
            rec.progress = max(rec.progress, 0.9)
        self._on_change(rec)

    def finish(self, rec: TaskRecord, status: TaskStatus, message: str = "") -> None:
        """End ``rec``: release (or fail) its dependents, forget results past the retention."""
        if rec.status.terminal:
            return
        rec.status, rec.message = status, message
        if status == TaskStatus.COMPLETED:
            rec.progress = 1.0
        else:
            rec.error = message
        rec.ended_at = time.monotonic()
        self._on_change(rec)
        self._on_end(rec)
        if rec.id not in self.running:
            rec.done.set()  # a running task is done once its run let go (``stopped``)
        self.unfinished.discard(rec.id)
        for dep_id in self._dependents.get(rec.id, []):
            dependent = self.records.get(dep_id)
            if dependent is not None and dependent.status in (
                TaskStatus.BLOCKED,
                TaskStatus.PENDING,
            ):
                self.enqueue_if_ready(dependent)
        self._ended.append(rec.id)
        self._forget_old()

    def cancel_queued(self, rec: TaskRecord) -> None:
        """Cancel a task that has not started (its queue entry is skipped when reached)."""
        self.finish(rec, TaskStatus.CANCELLED, "cancelled before it started")

    def reset(self, rec: TaskRecord) -> None:
        """Make an ended task new again (``retry``) and queue it when its dependencies allow."""
        rec.reset()
        self.unfinished.add(rec.id)
        self.enqueue_if_ready(rec)

    def _forget_old(self) -> None:
        """Keep memory flat on a long-lived coordinator: old results become a status."""
        while len(self._ended) > self.retention:
            task_id = self._ended.popleft()
            rec = self.records.get(task_id)
            if rec is None or not rec.status.terminal or task_id in self._ended:
                continue  # retried since, or ended again later in the queue
            del self.records[task_id]
            self.forgotten[task_id] = rec.status
            self._dependents.pop(task_id, None)
