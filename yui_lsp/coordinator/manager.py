"""ParallelTaskManager: the coordinator. Schedules tasks by dependencies, priorities,
workers, leases and resources, and runs each through the pipeline.

Usage::

    async with ParallelTaskManager(root, max_workers=4) as manager:
        await manager.submit_task(Task(title="fmt", command=["ruff", "format", "."]), "shell")
        results = await manager.wait_for_completion()
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from yui_lsp.config import AgentProfile, Settings, load_settings
from yui_lsp.coordinator.attempts import run_task
from yui_lsp.coordinator.bus import Bus
from yui_lsp.coordinator.history import renamed
from yui_lsp.coordinator.pipeline import Services, lease_event
from yui_lsp.coordinator.records import TaskFuture, TaskRecord
from yui_lsp.coordinator.resources import ResourceGate
from yui_lsp.coordinator.scheduler import RetryPolicy, Scheduler
from yui_lsp.coordinator.services import (
    HistoryWriter,
    Signal,
    background,
    open_audit,
    open_domain,
    open_history,
    open_workspace,
)
from yui_lsp.coordinator.validation import check_plan, check_task
from yui_lsp.errors import (
    UnknownTaskError,
    YuiError,
)
from yui_lsp.protocol import (
    LockRecord,
    LocksChanged,
    Message,
    Plan,
    Task,
    TaskInfo,
    TaskResult,
    TaskStatus,
    TaskUpdate,
)
from yui_lsp.workspace import (
    Applier,
    ClaimSet,
    DiskReader,
    JournaledApplier,
    WorkspaceReader,
)

log = logging.getLogger(__name__)


def _no_shortage() -> str | None:
    return None


class ParallelTaskManager:
    """Runs many agent tasks at once on one workspace, safely. Async context manager.

    The wiring around :class:`~yui_lsp.coordinator.scheduler.Scheduler` (the pure core):
    the services of :mod:`~yui_lsp.coordinator.services` are opened on entry, the scheduling
    loop starts tasks the core picks, and each task runs its attempts through the pipeline.
    """

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
        self._core = Scheduler(self.settings.task_retention, self._changed, self._ended)
        self.policy = RetryPolicy(
            max_retries=self.settings.max_retries,
            backoff_s=self.settings.retry_backoff_s,
            conflict_retries=self.settings.conflict_retries,
        )
        self._published: dict[str, tuple[datetime, str]] = {}
        self._wake = Signal()
        self._dirty = Signal()
        self._locks_dirty = Signal()
        self._runs: TaskGroup | None = None
        self._services: Services | None = None
        self._history: HistoryWriter | None = None
        self._profiles: dict[str, AgentProfile] = {}
        self._stack: AsyncExitStack | None = None
        self._gate = ResourceGate(self.settings.min_free_memory_mb, self.settings.max_cpu_percent)

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
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await stack.enter_async_context(self._lifespan())
        except BaseException:
            await stack.__aexit__(*sys.exc_info())
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stack is not None, "not entered"
        stack, self._stack = self._stack, None
        return await stack.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        """Services first, then the scheduling loop; on the way out the reverse order."""
        async with AsyncExitStack() as stack:
            services, recovered = await stack.enter_async_context(open_workspace(
                self.root, self.settings, self.coordinator_id, self._reader, self._applier,
                # One warm sandbox per worker: a pool smaller than that re-creates worktrees.
                pool_size=max(self.settings.sandbox_pool_size, self.max_workers),
                leased_task_ids=lambda: list(self._core.running),
            ))
            await stack.enter_async_context(open_audit(self.root, self.bus))
            self._history = await stack.enter_async_context(
                open_history(self.root, self.settings))
            if self._join_domain:
                await stack.enter_async_context(open_domain(
                    self.root, self.coordinator_id, self._kind, self._handle_control,
                    self._tasks_json, self._dirty,
                ))
            if recovered:
                log.info("recovered interrupted applies: %s", recovered)
            self._services = services
            try:
                async with background() as runs:
                    self._runs = runs
                    runs.start_soon(self._schedule_loop)
                    runs.start_soon(self._publish_locks)
                    yield
            finally:
                self._runs = None
                for rec in list(self._core.records.values()):
                    if not rec.status.terminal:
                        self._core.finish(rec, TaskStatus.CANCELLED, "coordinator stopped")

    def _require_running(self) -> TaskGroup:
        if self._runs is None:
            raise RuntimeError("use `async with ParallelTaskManager(...) as manager:` first")
        return self._runs

    # ------------------------------------------------------------------ public API

    async def submit_task(
        self, task: Task | dict[str, Any], agent_type: str | None = None
    ) -> TaskFuture:
        """Queue one task (``agent_type`` overrides ``task.agent``); returns at once."""
        started = time.perf_counter()
        item = task if isinstance(task, Task) else Task.model_validate(task)
        if agent_type:
            item = item.model_copy(update={"agent": agent_type})
        (future,) = await self._submit([item], started)
        return future

    async def submit_plan(self, plan: Plan) -> list[TaskFuture]:
        """Queue a whole plan; it is validated as one (cycles, unknown ids and agents).

        An id that an earlier run on the repository already used gets a run suffix
        (``api`` → ``api-r2``, titled ``api``); the futures carry the ids the tasks run under.
        """
        return await self._submit(list(plan.tasks), time.perf_counter())

    async def wait_for_completion(self, timeout: float | None = None) -> list[TaskResult]:
        """Wait until every task (also ones submitted meanwhile) has ended."""
        core = self._core
        with anyio.fail_after(timeout):
            while core.unfinished:
                await core.records[next(iter(core.unfinished))].done.wait()
        return self.get_results()

    def get_results(self) -> list[TaskResult]:
        """Results of ended tasks, in submission order.

        A coordinator that runs for long keeps the last ``task_retention`` (setting) results
        in memory; every result is also in ``.yui/audit.jsonl``.
        """
        return [r.result() for r in self._core.records.values() if r.status.terminal]

    def monitor_progress(self) -> dict[str, TaskStatus]:
        """Status of every task by id."""
        return {task_id: rec.status for task_id, rec in self._core.records.items()}

    def tasks(self) -> list[TaskInfo]:
        return [rec.info(self.coordinator_id) for rec in self._core.records.values()]

    def locks(self) -> list[LockRecord]:
        """The lease table (reads files: call it from a worker thread, see :meth:`lock_table`)."""
        assert self._services is not None
        return self._services.leases.records()

    async def lock_table(self) -> list[LockRecord]:
        """The lease table, read in a worker thread."""
        return await anyio.to_thread.run_sync(self.locks)

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
        elif rec.id not in self._core.running:
            self._core.cancel_queued(rec)
        return True

    def set_review(self, task_id: str, waiting: bool) -> None:
        """The editor holds this task's result for the user (review mode), or let it go."""
        rec = self._core.records.get(task_id)
        if rec is None or rec.status.terminal:
            return
        if waiting:
            self._core.set_status(rec, TaskStatus.REVIEW, "result waiting for review")
        else:
            self._core.set_status(rec, TaskStatus.INTEGRATING, "applying the reviewed result")

    async def retry(self, task_id: str) -> TaskFuture:
        """Run an ended (not completed) task again from the start."""
        rec = self._record(task_id)
        if not rec.status.terminal:
            raise YuiError(f"task {task_id!r} is still {rec.status.value}; cancel it first")
        self._core.reset(rec)
        return TaskFuture(rec)

    # ------------------------------------------------------------------ submission

    def _shared_profile(self, agent: str, profile: AgentProfile) -> AgentProfile:
        """One object per distinct profile: thousands of tasks of one agent share it."""
        known = self._profiles.setdefault(agent, profile)
        if known is profile or known == profile:
            return known
        self._profiles[agent] = profile  # the settings changed: the new one from now on
        return profile

    async def _submit(self, tasks: list[Task], started: float) -> list[TaskFuture]:
        self._require_running()
        assert self._history is not None
        items = [t.with_id() for t in tasks]
        ids = [t.id for t in items]
        check_plan(items, known=self._core.known)

        history = self._history.history

        def check_and_reserve() -> tuple[dict[str, AgentProfile], dict[str, str]]:
            # One trip to a worker thread: each is a wait for the loop under load.
            checked = {item.id: check_task(item, self.settings, self.root) for item in items}
            # Ids are unique per repository, across runs and coordinators: the history says.
            return checked, history.reserve(self.coordinator_id, ids)

        checked, granted = await anyio.to_thread.run_sync(check_and_reserve)
        profiles = {item.id: self._shared_profile(item.agent, checked[item.id]) for item in items}
        records = [
            TaskRecord(task=renamed(item, granted[item.id], granted),
                       profile=profiles[item.id], claim_set=ClaimSet(item.claims))
            for item in items
        ]
        self._core.add(records)
        elapsed = time.perf_counter() - started
        for rec in records:
            rec.submission_latency_s = elapsed
        return [TaskFuture(rec) for rec in records]

    # ------------------------------------------------------------------ scheduling

    async def _schedule_loop(self) -> None:
        while True:
            runs = self._require_running()
            # On a cluster, this machine's load says nothing about the nodes' (Ray places).
            gate = self._gate.shortage if self.settings.executor == "local" else _no_shortage
            for rec in self._core.pick(self.max_workers, gate):
                runs.start_soon(self._run, rec)
            # While resources are short, look again every half second.
            await self._wake.wait(0.5 if self._core.waiting_reason else None)

    # ------------------------------------------------------------------ running

    async def _run(self, rec: TaskRecord) -> None:
        assert self._services is not None
        rec.started_at = time.monotonic()
        try:
            with anyio.CancelScope() as scope:
                rec.cancel_scope = scope
                if rec.cancel_requested:
                    scope.cancel()
                await self._run_attempts(rec)
            if scope.cancelled_caught and not rec.status.terminal:
                self._core.finish(rec, TaskStatus.CANCELLED, "cancelled")
        finally:
            with anyio.CancelScope(shield=True):
                rec.cancel_scope = None
                # Leases taken mid-run (writes outside the claims) are released too.
                leases = self._services.leases
                if await anyio.to_thread.run_sync(leases.release, rec.id):
                    self._emit(lease_event(rec.task, [], "lease_released"))
                    self._locks_dirty.set()
                if not rec.status.terminal:
                    self._core.finish(rec, TaskStatus.FAILED, "stopped unexpectedly")
                self._core.stopped(rec)
                self._wake.set()

    async def _publish_locks(self) -> None:
        """One LocksChanged (the whole table, read in a thread) after lease changes, at most
        five a second: with thousands of leases the table is large, and it changes per task."""
        assert self._services is not None
        while True:
            await self._locks_dirty.wait()
            locks = await anyio.to_thread.run_sync(self._services.leases.records)
            self._emit(LocksChanged(locks=locks))
            await anyio.sleep(0.2)

    async def _run_attempts(self, rec: TaskRecord) -> None:
        assert self._services is not None
        await run_task(rec, self._services, self._core, self.policy,
                       emit=self._emit, from_agent=self._from_agent,
                       leases_changed=self._locks_dirty.set)

    # ------------------------------------------------------------------ what the core reports

    def _changed(self, rec: TaskRecord) -> None:
        self._emit_update(rec)
        if self._history is not None:
            self._history.note(rec.id, lambda: rec.history_entry(self.coordinator_id))
        if rec.status == TaskStatus.QUEUED:
            self._wake.set()

    def _ended(self, rec: TaskRecord) -> None:
        self._emit(rec.metrics())
        self._wake.set()

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
        self._emit(rec.update(self.coordinator_id))

    def _emit(self, message: Message) -> None:
        self.bus.publish(message)
        self._dirty.set()

    # ------------------------------------------------------------------ domain

    def _tasks_json(self) -> bytes:
        """The task table as JSON; each task is serialised again only when it changed."""
        cache = self._published
        fresh: dict[str, tuple[datetime, str]] = {}
        for task_id, rec in self._core.records.items():
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
            return self._core.records[task_id]
        except KeyError:
            raise UnknownTaskError(task_id) from None


__all__ = ["ParallelTaskManager", "TaskFuture"]
