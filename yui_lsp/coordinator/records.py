"""The coordinator's record of one task, and the future handed back on submission."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import anyio

from yui_lsp.config import AgentProfile
from yui_lsp.coordinator.history import HistoryEntry
from yui_lsp.protocol import (
    FileConflict,
    Task,
    TaskInfo,
    TaskMetrics,
    TaskOutcome,
    TaskResult,
    TaskStatus,
    TaskUpdate,
    utcnow,
)
from yui_lsp.workspace import ClaimSet


class _Ended:
    """``done`` of an ended task (see :meth:`TaskRecord.compact`): set, nothing to wait for."""

    __slots__ = ()

    def is_set(self) -> bool:
        return True

    def set(self) -> None:
        pass

    async def wait(self) -> None:
        return None


_ENDED = _Ended()
_NO_CLAIMS = ClaimSet([])


@dataclass(slots=True)  # no per-record __dict__: a coordinator holds thousands
class TaskRecord:
    """Mutable state of a task inside one coordinator."""

    task: Task
    #: The agent profile, resolved once at submission.
    profile: AgentProfile
    #: Submission order inside the coordinator (set by the scheduler).
    seq: int = 0
    #: Worker slot while running (``agent_id`` is ``<agent>_worker_<slot>``), else 0.
    slot: int = 0
    status: TaskStatus = TaskStatus.PENDING
    progress: float = 0.0
    message: str = ""
    agent_id: str = ""
    error: str | None = None
    files_modified: list[str] = field(default_factory=list)
    #: Set when the task completed: it changed files, or none (see agent_errors).
    outcome: TaskOutcome | None = None
    agent_errors: list[str] = field(default_factory=list)
    conflicts: list[FileConflict] = field(default_factory=list)
    attempts: int = 0
    submitted_at: float = field(default_factory=time.monotonic)
    queued_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    run_s: float = 0.0
    integration_s: float = 0.0
    submission_latency_s: float = 0.0
    extra_metrics: dict[str, float] = field(default_factory=dict)
    #: Cluster node of the latest attempt ("" = this machine).
    node: str = ""
    #: The claims prepared for overlap checks (built once at submission).
    claim_set: ClaimSet = field(default_factory=lambda: ClaimSet([]))
    cancel_scope: anyio.CancelScope | None = None
    cancel_requested: bool = False
    #: See :attr:`done` (made when first asked for: most tasks are never awaited one by one).
    _done: anyio.Event | _Ended | None = None
    submitted_wall: datetime = field(default_factory=utcnow)
    updated_wall: datetime = field(default_factory=utcnow)

    @property
    def id(self) -> str:
        return self.task.id

    def reset(self) -> None:
        """Back to a new task, for a retry (the id, task and profile stay)."""
        self.status, self.error, self.progress, self.attempts = TaskStatus.PENDING, None, 0.0, 0
        self.message = ""
        self.cancel_requested, self.cancel_scope, self._done = False, None, None
        self.conflicts, self.files_modified = [], []
        self.outcome, self.agent_errors = None, []
        self.started_at = self.ended_at = None
        self.claim_set = ClaimSet(self.task.claims)

    @property
    def done(self) -> anyio.Event | _Ended:
        """Set once the task ended and its run let go of everything it held."""
        if self._done is None:
            self._done = anyio.Event()
        return self._done

    def compact(self) -> None:
        """The task ended and its run let go: wake its waiters, then drop what only a live
        task needs. A long-lived coordinator keeps many ended records (``task_retention``),
        each as small as it can be (the whole task is in the history on disk)."""
        if self._done is not None:
            self._done.set()
        self._done, self.claim_set, self.cancel_scope = _ENDED, _NO_CLAIMS, None

    def metrics(self) -> TaskMetrics:
        queue_wait = (
            (self.started_at - self.queued_at)
            if self.started_at is not None and self.queued_at is not None
            else 0.0
        )
        run_s = self.run_s
        if not run_s and not self.integration_s and self.started_at and self.ended_at:
            # Cancelled or failed mid-attempt: it still ran this long.
            run_s = round(self.ended_at - self.started_at, 3)
        return TaskMetrics(
            task_id=self.id,
            submission_latency_s=self.submission_latency_s,
            queue_wait_s=max(queue_wait, 0.0),
            run_s=run_s,
            integration_s=self.integration_s,
            attempts=max(self.attempts, 1),
            extra=dict(self.extra_metrics),
            node=self.node,
        )

    def result(self) -> TaskResult:
        return TaskResult(
            task_id=self.id,
            title=self.task.display_title,
            agent=self.task.agent,
            status=self.status,
            files_modified=list(self.files_modified),
            error=self.error,
            conflicts=list(self.conflicts),
            attempts=self.attempts,
            metrics=self.metrics() if self.status.terminal else None,
            outcome=self.outcome,
            agent_errors=list(self.agent_errors),
        )

    def info(self, coordinator_id: str) -> TaskInfo:
        return TaskInfo(
            task=self.task,
            status=self.status,
            progress=self.progress,
            message=self.message,
            agent_id=self.agent_id,
            files_modified=list(self.files_modified),
            error=self.error,
            coordinator_id=coordinator_id,
            node=self.node,
            outcome=self.outcome,
            agent_errors=list(self.agent_errors),
            submitted_at=self.submitted_wall,
            updated_at=self.updated_wall,
        )

    def update(self, coordinator_id: str) -> TaskUpdate:
        """The task's state now as a ``task_update`` message (stamps ``updated_wall``)."""
        self.updated_wall = utcnow()
        return TaskUpdate(
            agent_id=self.agent_id or f"{self.task.agent}_worker",
            task_id=self.id,
            status=self.status,
            progress=self.progress,
            files_modified=self.files_modified,
            title=self.task.display_title,
            agent=self.task.agent,
            message=self.message,
            error=self.error,
            coordinator_id=coordinator_id,
            node=self.node,
            outcome=self.outcome,
            agent_errors=self.agent_errors,
        )

    def history_entry(self, coordinator_id: str) -> HistoryEntry:
        """What the task history keeps of the task: its listing, figures and log."""
        metrics = self.metrics()
        figures = {"queue_wait_s": metrics.queue_wait_s, "run_s": metrics.run_s,
                   "integration_s": metrics.integration_s, "attempts": float(metrics.attempts),
                   **metrics.extra}
        if self.started_at is not None and self.ended_at is not None:
            figures["duration_s"] = round(self.ended_at - self.started_at, 3)
        return HistoryEntry(info=self.info(coordinator_id), metrics=figures,
                            log_path=f".yui/logs/{self.id}.log")


class TaskFuture:
    """Handle on a submitted task: its id, its status now, and its result when done."""

    def __init__(self, record: TaskRecord) -> None:
        self._record = record

    @property
    def task_id(self) -> str:
        return self._record.id

    @property
    def status(self) -> TaskStatus:
        return self._record.status

    def done(self) -> bool:
        return self._record.status.terminal

    async def result(self, timeout: float | None = None) -> TaskResult:
        """Wait until the task ends (TimeoutError after ``timeout`` seconds)."""
        with anyio.fail_after(timeout):
            await self._record.done.wait()
        return self._record.result()

    def __repr__(self) -> str:
        return f"<TaskFuture {self.task_id} {self.status.value}>"
