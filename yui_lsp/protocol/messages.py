"""Messages of the bus: what a coordinator says while tasks run (``task_update`` and kin);
the audit log, ``--json`` and the LSP notifications carry them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    TypeAdapter,
)

from yui_lsp.protocol.records import (
    FileConflict,
    LockRecord,
    Model,
    TaskOutcome,
    TaskStatus,
    utcnow,
)


class _Message(Model):
    timestamp: datetime = Field(default_factory=utcnow)


class TaskUpdate(_Message):
    """A task changed state or made progress (the seed's message shape)."""

    type: Literal["task_update"] = "task_update"
    agent_id: str = Field(description="Which worker runs it, e.g. kiro_worker_1.")
    task_id: str
    status: TaskStatus
    progress: float = Field(default=0.0, ge=0.0, le=1.0)
    files_modified: list[str] = Field(default_factory=list)
    title: str = ""
    agent: str = Field(default="", description="Agent profile name.")
    message: str = Field(default="", description="Latest activity or reason, for humans.")
    error: str | None = None
    coordinator_id: str = ""
    node: str = Field(default="", description="Cluster node running it; empty: this machine.")
    outcome: TaskOutcome | None = Field(
        default=None, description="Set on `completed`: `changed` or `no_changes`."
    )
    agent_errors: list[str] = Field(
        default_factory=list,
        description="The agent's own failure lines (a failed Codex file_change, a Claude tool "
        "error, a command's stderr), shown with a `no_changes` outcome.",
    )


class AgentOutput(_Message):
    """One line an agent printed (ANSI stripped, length capped)."""

    type: Literal["agent_output"] = "agent_output"
    task_id: str
    agent_id: str = ""
    stream: Literal["stdout", "stderr"] = "stdout"
    line: str


class LocksChanged(_Message):
    """The lease table changed; ``locks`` is the whole table now."""

    type: Literal["locks_changed"] = "locks_changed"
    locks: list[LockRecord] = Field(default_factory=list)


class TaskConflict(_Message):
    """A task's result could not be integrated."""

    type: Literal["task_conflict"] = "task_conflict"
    task_id: str
    conflicts: list[FileConflict]
    attempt: int = 1
    will_retry: bool = False


class WorkspaceEvent(_Message):
    """A step in a task's file handling: lease, sandbox, diff, merge, apply, recover, undo."""

    type: Literal["workspace_event"] = "workspace_event"
    task_id: str = ""
    event: str = Field(description="e.g. lease_acquired, sandbox_ready, merged, applied.")
    paths: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


class TaskMetrics(_Message):
    """Timings of one finished task, in seconds."""

    type: Literal["task_metrics"] = "task_metrics"
    task_id: str
    submission_latency_s: float = 0.0
    queue_wait_s: float = 0.0
    run_s: float = 0.0
    integration_s: float = 0.0
    attempts: int = 1
    extra: dict[str, float] = Field(
        default_factory=dict, description="Agent-specific figures (credits, cost_usd, turns)."
    )
    node: str = Field(default="", description="Cluster node of the last attempt; empty: here.")


Message = Annotated[
    TaskUpdate | AgentOutput | LocksChanged | TaskConflict | WorkspaceEvent | TaskMetrics,
    Field(discriminator="type"),
]
MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


def parse_message(data: str | bytes | dict[str, Any]) -> Message:
    """Parse one message from JSON text or a dict."""
    if isinstance(data, dict):
        return MESSAGE_ADAPTER.validate_python(data)
    return MESSAGE_ADAPTER.validate_json(data)
