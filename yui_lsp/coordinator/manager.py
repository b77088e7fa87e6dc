"""ParallelTaskManager: the coordinator. Schedules tasks by dependencies, priorities,
workers, leases and resources, and runs each through the pipeline.

Usage::

    async with ParallelTaskManager(root, max_workers=4) as manager:
        await manager.submit_task(Task(title="fmt", command=["ruff", "format", "."]), "shell")
        results = await manager.wait_for_completion()
"""

from __future__ import annotations

import bisect
import logging
import os
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from yui_lsp.agents import adapter_for
from yui_lsp.config import AgentProfile, Settings, load_settings
from yui_lsp.coordinator import dag
from yui_lsp.coordinator.audit import AuditLog
from yui_lsp.coordinator.bus import Bus
from yui_lsp.coordinator.domain import DomainMembership
from yui_lsp.coordinator.pipeline import Services, is_direct, profile_for, run_attempt
from yui_lsp.coordinator.records import TaskFuture, TaskRecord
from yui_lsp.coordinator.resources import ResourceGate
from yui_lsp.errors import (
    AgentUnavailableError,
    PlanError,
    UnknownAgentError,
    UnknownTaskError,
    YuiError,
)
from yui_lsp.protocol import (
    LockRecord,
    LocksChanged,
    Message,
    Plan,
    Task,
    TaskConflict,
    TaskInfo,
    TaskOutcome,
    TaskResult,
    TaskStatus,
    TaskUpdate,
    utcnow,
)
from yui_lsp.workspace import (
    Applier,
    ClaimSet,
    DiskReader,
    JournaledApplier,
    LeaseTable,
    SandboxPool,
    WorkspaceReader,
    recover,
    validate_claims,
)

log = logging.getLogger(__name__)


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside (nested) single-exception groups from agent task groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


_NO_RETRY = (AgentUnavailableError, UnknownAgentError, PlanError)


class _KnownIds:
    """Ids a coordinator knows (live records and forgotten ones), without copying them."""

    def __init__(self, *tables: Mapping[str, object]) -> None:
        self._tables = tables

    def __contains__(self, task_id: object) -> bool:
        return any(task_id in table for table in self._tables)


class ParallelTaskManager:
    """Runs many agent tasks at once on one workspace, safely. Async context manager."""

    def __init__(
        self,
        root: str | Path = ".",
        *,
        settings: Settings | None = None,
        max_workers: int | None = None,
        sequential: bool = False,
        applier: Applier | None = None,
        reader: WorkspaceReader | None = None,
        kind: str = "cli",
        join_domain: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.settings = settings or load_settings(self.root)
        self._max_workers = 1 if sequential else (max_workers or self.settings.max_workers)
        self.coordinator_id = (
            f"{kind}-{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.bus = Bus()
        self._reader = reader or DiskReader(self.root)
        self._applier = applier or JournaledApplier(self.root, self.settings.backup_retention)
        self._kind = kind
        self._join_domain = join_domain
        self._records: dict[str, TaskRecord] = {}
        #: Tasks between start and end of `_run` (acquiring, running, integrating).
        self._running: dict[str, TaskRecord] = {}
        self._unfinished: set[str] = set()
        #: Ended tasks in the order they ended; beyond `task_retention` only their status stays.
        self._ended: deque[str] = deque()
        self._forgotten: dict[str, TaskStatus] = {}
        self._published: dict[str, tuple[datetime, str]] = {}
        self._dependents: dict[str, list[str]] = {}
        self._ready: list[tuple[int, int, str]] = []
        self._seq = 0
        self._free_slots: dict[str, list[int]] = {}
        self._wake = anyio.Event()
        self._dirty = anyio.Event()
        self._tg: TaskGroup | None = None
        self._services: Services | None = None
        self._audit: AuditLog | None = None
        self._domain: DomainMembership | None = None
        self._gate = ResourceGate(self.settings.min_free_memory_mb, self.settings.max_cpu_percent)
        self._waiting_reason: str | None = None

    @property
    def max_workers(self) -> int:
        """How many tasks may be active at once; raising it starts queued tasks at once."""
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        if value < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = value
        self._wake.set()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> ParallelTaskManager:
        yui = self.root / ".yui"
        yui.mkdir(parents=True, exist_ok=True)
        recovered = await anyio.to_thread.run_sync(recover, self.root)
        leases = LeaseTable(self.root, self.coordinator_id, self.settings.lease_ttl_s)
        sandboxes = SandboxPool(
            self.root,
            Path(self.settings.sandbox_dir) if self.settings.sandbox_dir else None,
            self.settings.sandbox_include,
            # One warm sandbox per worker: a pool smaller than that re-creates worktrees.
            max(self.settings.sandbox_pool_size, self.max_workers),
        )
        await anyio.to_thread.run_sync(sandboxes.cleanup_orphans)
        self._services = Services(
            root=self.root,
            settings=self.settings,
            leases=leases,
            sandboxes=sandboxes,
            reader=self._reader,
            applier=self._applier,
            logs_dir=yui / "logs",
        )
        (yui / "logs").mkdir(exist_ok=True)
        self._audit = AuditLog(yui / "audit.jsonl")
        self.bus.add_listener(self._audit)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._schedule_loop)
        self._tg.start_soon(
            leases.heartbeat, self._leased_task_ids, self.settings.lease_heartbeat_s
        )
        if self._join_domain:
            self._domain = DomainMembership(self.root, self.coordinator_id, self._kind)
            self._domain.register()
            await self._tg.start(self._domain.serve, self._handle_control)
            self._tg.start_soon(self._publish_loop)
        if recovered:
            log.info("recovered interrupted applies: %s", recovered)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None and self._services is not None
        self._tg.cancel_scope.cancel()
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        finally:
            with anyio.CancelScope(shield=True):
                for rec in self._records.values():
                    if not rec.status.terminal:
                        self._finish(rec, TaskStatus.CANCELLED, "coordinator stopped")
                self._services.leases.release_all_of_coordinator()
                await self._services.sandboxes.close()
                if self._domain is not None:
                    self._domain.unregister()
                if self._audit is not None:
                    self._audit.close()

    def _require_running(self) -> TaskGroup:
        if self._tg is None:
            raise RuntimeError("use `async with ParallelTaskManager(...) as manager:` first")
        return self._tg

    # ------------------------------------------------------------------ public API

    async def submit_task(
        self, task: Task | dict[str, Any], agent_type: str | None = None
    ) -> TaskFuture:
        """Queue one task (``agent_type`` overrides ``task.agent``); returns at once."""
        started = time.perf_counter()
        item = task if isinstance(task, Task) else Task.model_validate(task)
        if agent_type:
            item = item.model_copy(update={"agent": agent_type})
        (future,) = self._submit([item], started)
        return future

    async def submit_plan(self, plan: Plan) -> list[TaskFuture]:
        """Queue a whole plan; it is validated as one (cycles, unknown ids and agents)."""
        return self._submit(list(plan.tasks), time.perf_counter())

    async def wait_for_completion(self, timeout: float | None = None) -> list[TaskResult]:
        """Wait until every task (also ones submitted meanwhile) has ended."""
        with anyio.fail_after(timeout):
            while self._unfinished:
                await self._records[next(iter(self._unfinished))].done.wait()
        return self.get_results()

    def get_results(self) -> list[TaskResult]:
        """Results of ended tasks, in submission order.

        A coordinator that runs for long keeps the last ``task_retention`` (setting) results
        in memory; every result is also in ``.yui/audit.jsonl``.
        """
        return [r.result() for r in self._records.values() if r.status.terminal]

    def monitor_progress(self) -> dict[str, TaskStatus]:
        """Status of every task by id."""
        return {task_id: rec.status for task_id, rec in self._records.items()}

    def tasks(self) -> list[TaskInfo]:
        return [rec.info(self.coordinator_id) for rec in self._records.values()]

    def locks(self) -> list[LockRecord]:
        assert self._services is not None
        return self._services.leases.records()

    def future(self, task_id: str) -> TaskFuture:
        return TaskFuture(self._record(task_id))

    async def cancel(self, task_id: str) -> bool:
        """Cancel a task (and its agent's process group). False if it had already ended."""
        rec = self._record(task_id)
        if rec.status.terminal:
            return False
        rec.cancel_requested = True
        if rec.cancel_scope is not None:
            rec.cancel_scope.cancel()
        else:
            self._finish(rec, TaskStatus.CANCELLED, "cancelled before it started")
        return True

    def set_review(self, task_id: str, waiting: bool) -> None:
        """The editor holds this task's result for the user (review mode), or let it go."""
        rec = self._records.get(task_id)
        if rec is None or rec.status.terminal:
            return
        if waiting:
            self._set_status(rec, TaskStatus.REVIEW, "result waiting for review")
        else:
            self._set_status(rec, TaskStatus.INTEGRATING, "applying the reviewed result")

    async def retry(self, task_id: str) -> TaskFuture:
        """Run an ended (not completed) task again from the start."""
        rec = self._record(task_id)
        if not rec.status.terminal:
            raise YuiError(f"task {task_id!r} is still {rec.status.value}; cancel it first")
        rec.status, rec.error, rec.progress, rec.attempts = TaskStatus.PENDING, None, 0.0, 0
        rec.cancel_requested, rec.cancel_scope, rec.done = False, None, anyio.Event()
        rec.conflicts, rec.files_modified = [], []
        rec.outcome, rec.agent_errors = None, []
        self._unfinished.add(rec.id)
        self._enqueue_if_ready(rec)
        return TaskFuture(rec)

    # ------------------------------------------------------------------ submission

    def _submit(self, tasks: list[Task], started: float) -> list[TaskFuture]:
        self._require_running()
        items = [t.with_id() for t in tasks]
        ids = [t.id for t in items]
        known = _KnownIds(self._records, self._forgotten)
        duplicates = {i for i, n in Counter(ids).items() if n > 1} | {i for i in ids if i in known}
        if duplicates:
            raise PlanError(f"task id {sorted(duplicates)[0]!r} is used twice")
        profiles = {item.id: self._check_task(item) for item in items}
        dag.validate({t.id: t.depends_on for t in items}, known=known)
        futures = []
        for item in items:
            self._seq += 1
            rec = TaskRecord(
                task=item,
                seq=self._seq,
                profile=profiles[item.id],
                claim_set=ClaimSet(item.claims),
            )
            self._records[item.id] = rec
            self._unfinished.add(item.id)
            for dep in item.depends_on:
                self._dependents.setdefault(dep, []).append(item.id)
            self._emit_update(rec)
            futures.append(TaskFuture(rec))
        for item in items:
            self._enqueue_if_ready(self._records[item.id])
        elapsed = time.perf_counter() - started
        for item in items:
            self._records[item.id].submission_latency_s = elapsed
        return futures

    def _check_task(self, task: Task) -> AgentProfile:
        """Refuse a task that cannot run; return the agent profile it will run with."""
        profile = profile_for(task, self.settings)
        if profile.kind == "shell" and not task.command:
            raise PlanError(f"task {task.id!r}: the shell agent needs `command = [argv...]`")
        if profile.kind == "refactor" and task.refactor is None:
            raise PlanError(
                f"task {task.id!r}: the refactor agent needs `refactor = {{pattern, replacement}}`"
            )
        if profile.kind == "yui" and not (task.command or task.refactor):
            raise PlanError(f"task {task.id!r}: the yui worker needs a `command` or a `refactor`")
        if profile.kind not in ("shell", "refactor", "yui") and not task.prompt.strip():
            raise PlanError(f"task {task.id!r}: agent {task.agent!r} needs a prompt")
        validate_claims(task.claims)
        if task.refactor is not None:
            validate_claims(task.refactor.files)
        if not is_direct(task, profile):
            adapter_for(profile).check_available(profile)
        return profile

    def _status_of(self, task_id: str) -> TaskStatus:
        rec = self._records.get(task_id)
        return rec.status if rec is not None else self._forgotten[task_id]

    def _enqueue_if_ready(self, rec: TaskRecord) -> None:
        deps = {d: self._status_of(d) for d in rec.task.depends_on}
        failed = next(
            ((d, s) for d, s in deps.items() if s.terminal and s != TaskStatus.COMPLETED), None
        )
        if failed is not None:
            self._finish(
                rec,
                TaskStatus.FAILED,
                f"not started: dependency {failed[0]!r} ended {failed[1].value}",
            )
        elif all(s == TaskStatus.COMPLETED for s in deps.values()):
            rec.status, rec.queued_at = TaskStatus.QUEUED, time.monotonic()
            rec.message = ""
            bisect.insort(self._ready, (-rec.task.priority, rec.seq, rec.id))
            self._emit_update(rec)
            self._wake.set()
        elif rec.status != TaskStatus.BLOCKED:
            rec.status = TaskStatus.BLOCKED
            rec.message = "waiting for " + ", ".join(
                d for d, s in deps.items() if s != TaskStatus.COMPLETED
            )
            self._emit_update(rec)

    # ------------------------------------------------------------------ scheduling

    async def _schedule_loop(self) -> None:
        while True:
            self._wake = anyio.Event()
            self._start_ready()
            if self._waiting_reason:
                with anyio.move_on_after(0.5):
                    await self._wake.wait()
            else:
                await self._wake.wait()

    def _active(self) -> list[TaskRecord]:
        return list(self._running.values())

    def _start_ready(self) -> None:
        tg = self._require_running()
        active = self._active()
        reason = None
        kept: list[tuple[int, int, str]] = []
        for index, entry in enumerate(self._ready):
            if len(active) >= self.max_workers:
                kept.extend(self._ready[index:])  # no free worker: the rest stays in order
                break
            rec = self._records.get(entry[2])
            if rec is None or rec.status != TaskStatus.QUEUED:
                continue  # cancelled while queued
            if not self._fits(rec, active):
                kept.append(entry)
                continue
            shortage = self._gate.shortage() if active else None
            if shortage:
                # Nothing behind this task may overtake it while resources are short.
                reason = shortage
                if rec.message != shortage:
                    rec.message = shortage
                    self._emit_update(rec)
                kept.extend(self._ready[index:])
                break
            rec.status = TaskStatus.ACQUIRING
            rec.message = ""
            active.append(rec)
            self._running[rec.id] = rec
            tg.start_soon(self._run, rec)
        self._ready = kept
        self._waiting_reason = reason

    def _fits(self, rec: TaskRecord, active: list[TaskRecord]) -> bool:
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
        used = {
            int(r.agent_id.rsplit("_", 1)[-1])
            for r in self._active()
            if r.task.agent == agent and r.agent_id
        }
        return next(i for i in range(1, len(used) + 2) if i not in used)

    # ------------------------------------------------------------------ running

    async def _run(self, rec: TaskRecord) -> None:
        assert self._services is not None
        slot = self._take_slot(rec.task.agent)
        rec.agent_id = f"{rec.task.agent}_worker_{slot}"
        rec.started_at = time.monotonic()
        try:
            with anyio.CancelScope() as scope:
                rec.cancel_scope = scope
                if rec.cancel_requested:
                    scope.cancel()
                await self._run_attempts(rec)
            if scope.cancelled_caught and not rec.status.terminal:
                self._finish(rec, TaskStatus.CANCELLED, "cancelled")
        finally:
            with anyio.CancelScope(shield=True):
                rec.cancel_scope = None
                # Leases taken mid-run (writes outside the claims) are released too.
                if self._services.leases.release(rec.id):
                    self._emit(LocksChanged(locks=self._services.leases.records()))
                self._running.pop(rec.id, None)
                bisect.insort(self._free_slots.setdefault(rec.task.agent, []), slot)
                if not rec.status.terminal:
                    self._finish(rec, TaskStatus.FAILED, "stopped unexpectedly")
                self._wake.set()

    async def _run_attempts(self, rec: TaskRecord) -> None:
        services = self._services
        assert services is not None
        task = rec.task
        if task.claims:
            self._set_status(rec, TaskStatus.ACQUIRING, "taking leases")

            def on_wait(holder: LockRecord) -> None:
                self._set_status(
                    rec,
                    TaskStatus.ACQUIRING,
                    f"waiting for {holder.file_path} (leased by task {holder.locked_by!r})",
                )

            await services.leases.acquire(
                task.id,
                task.claims,
                task.lock_type,
                agent=task.agent,
                title=task.title,
                on_wait=on_wait,
            )
            self._emit(LocksChanged(locks=services.leases.records()))
        failures = conflicts = 0
        max_retries = (
            task.max_retries if task.max_retries is not None else self.settings.max_retries
        )
        while True:
            rec.attempts += 1
            try:
                outcome = await run_attempt(
                    services,
                    task,
                    rec.profile,
                    attempt=rec.attempts,
                    agent_id=rec.agent_id,
                    emit=lambda m: self._from_agent(rec, m),
                    set_status=lambda s, msg: self._set_status(rec, s, msg),
                )
            except Exception as raised:
                exc = _unwrap(raised)
                if isinstance(exc, _NO_RETRY):
                    self._finish(rec, TaskStatus.FAILED, str(exc))
                    return
                error = str(exc) if isinstance(exc, YuiError) else f"internal error: {exc!r}"
                if not isinstance(exc, YuiError):
                    log.exception("task %s failed", task.id)
                failures += 1
                if failures > max_retries:
                    self._finish(rec, TaskStatus.FAILED, error)
                    return
                delay = self.settings.retry_backoff_s * 2 ** (failures - 1)
                self._set_status(
                    rec,
                    TaskStatus.RUNNING,
                    f"{error}; retry {failures}/{max_retries} in {delay:g}s",
                )
                await anyio.sleep(delay)
                continue
            rec.run_s += outcome.run_s
            rec.integration_s += outcome.integration_s
            rec.extra_metrics.update(outcome.metrics)
            if outcome.conflicts:
                conflicts += 1
                will_retry = conflicts <= self.settings.conflict_retries
                self._emit(
                    TaskConflict(
                        task_id=task.id,
                        conflicts=outcome.conflicts,
                        attempt=rec.attempts,
                        will_retry=will_retry,
                    )
                )
                if will_retry:
                    self._set_status(
                        rec, TaskStatus.RUNNING, "conflict; re-running on the current files"
                    )
                    continue
                rec.conflicts = outcome.conflicts
                paths = ", ".join(c.path for c in outcome.conflicts if c.path) or "files"
                self._finish(
                    rec, TaskStatus.CONFLICT, f"conflict in {paths}: {outcome.conflicts[0].reason}"
                )
                return
            rec.files_modified = outcome.files
            rec.agent_errors = outcome.agent_errors
            if outcome.files:
                rec.outcome = TaskOutcome.CHANGED
                self._finish(rec, TaskStatus.COMPLETED, f"{len(outcome.files)} files changed")
            else:
                rec.outcome = TaskOutcome.NO_CHANGES
                self._finish(rec, TaskStatus.COMPLETED, "no changes")
            return

    # ------------------------------------------------------------------ state changes

    def _set_status(self, rec: TaskRecord, status: TaskStatus, message: str = "") -> None:
        rec.status, rec.message = status, message
        if status == TaskStatus.INTEGRATING:
            rec.progress = max(rec.progress, 0.9)
        self._emit_update(rec)

    def _finish(self, rec: TaskRecord, status: TaskStatus, message: str = "") -> None:
        if rec.status.terminal:
            return
        rec.status, rec.message = status, message
        if status == TaskStatus.COMPLETED:
            rec.progress = 1.0
        else:
            rec.error = message
        self._emit_update(rec)
        self._emit(rec.metrics())
        rec.done.set()
        self._unfinished.discard(rec.id)
        for dep_id in self._dependents.get(rec.id, []):
            dependent = self._records.get(dep_id)
            if dependent is not None and dependent.status in (
                TaskStatus.BLOCKED,
                TaskStatus.PENDING,
            ):
                self._enqueue_if_ready(dependent)
        self._ended.append(rec.id)
        self._forget_old()
        self._wake.set()

    def _forget_old(self) -> None:
        """Keep memory flat on a long-lived coordinator: old results become a status."""
        while len(self._ended) > self.settings.task_retention:
            task_id = self._ended.popleft()
            rec = self._records.get(task_id)
            if rec is None or not rec.status.terminal or task_id in self._ended:
                continue  # retried since, or ended again later in the queue
            del self._records[task_id]
            self._forgotten[task_id] = rec.status
            self._dependents.pop(task_id, None)

    def _from_agent(self, rec: TaskRecord, message: Message) -> None:
        if isinstance(message, TaskUpdate):
            rec.progress = max(rec.progress, min(message.progress, 0.89))
            rec.message = message.message or rec.message
            if message.files_modified:
                rec.files_modified = sorted(set(rec.files_modified) | set(message.files_modified))
            self._emit_update(rec)
            return
        self._emit(message)

    def _emit_update(self, rec: TaskRecord) -> None:
        rec.updated_wall = utcnow()
        self._emit(
            TaskUpdate(
                agent_id=rec.agent_id or f"{rec.task.agent}_worker",
                task_id=rec.id,
                status=rec.status,
                progress=rec.progress,
                files_modified=rec.files_modified,
                title=rec.task.display_title,
                agent=rec.task.agent,
                message=rec.message,
                error=rec.error,
                coordinator_id=self.coordinator_id,
                outcome=rec.outcome,
                agent_errors=rec.agent_errors,
            )
        )

    def _emit(self, message: Message) -> None:
        self.bus.publish(message)
        self._dirty.set()

    # ------------------------------------------------------------------ domain

    def _leased_task_ids(self) -> Iterable[str]:
        return list(self._running)

    async def _publish_loop(self) -> None:
        assert self._domain is not None
        while True:
            await self._dirty.wait()
            self._dirty = anyio.Event()
            await anyio.to_thread.run_sync(self._domain.publish_json, self._tasks_json())
            await anyio.sleep(0.2)  # coalesce bursts: at most five table writes a second

    def _tasks_json(self) -> bytes:
        """The task table as JSON; each task is serialised again only when it changed."""
        cache = self._published
        fresh: dict[str, tuple[datetime, str]] = {}
        for task_id, rec in self._records.items():
            hit = cache.get(task_id)
            if hit is None or hit[0] != rec.updated_wall:
                hit = (rec.updated_wall, rec.info(self.coordinator_id).model_dump_json())
            fresh[task_id] = hit
        self._published = fresh
        return ("[" + ",".join(text for _, text in fresh.values()) + "]").encode()

    async def _handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        op, task_id = request.get("op"), str(request.get("task_id", ""))
        if op == "cancel":
            return {"ok": True, "cancelled": await self.cancel(task_id)}
        if op == "retry":
            await self.retry(task_id)
            return {"ok": True}
        if op == "list":
            return {"ok": True, "tasks": [t.model_dump(mode="json") for t in self.tasks()]}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _record(self, task_id: str) -> TaskRecord:
        try:
            return self._records[task_id]
        except KeyError:
            raise UnknownTaskError(task_id) from None


__all__ = ["ParallelTaskManager", "TaskFuture"]
