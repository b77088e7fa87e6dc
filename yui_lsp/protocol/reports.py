"""Reports: a task's result and listing entry, the agents a task may name, ``yui doctor``."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    Field,
)

from yui_lsp.agents.kinds import Takes
from yui_lsp.protocol.messages import TaskMetrics
from yui_lsp.protocol.records import FileConflict, Model, Task, TaskOutcome, TaskStatus, utcnow


class TaskResult(Model):
    """How a task ended."""

    task_id: str
    title: str = ""
    agent: str = ""
    status: TaskStatus
    files_modified: list[str] = Field(default_factory=list)
    error: str | None = None
    conflicts: list[FileConflict] = Field(default_factory=list)
    attempts: int = 0
    metrics: TaskMetrics | None = None
    outcome: TaskOutcome | None = None
    agent_errors: list[str] = Field(default_factory=list)


class TaskInfo(Model):
    """A task as listed by ``yui status`` / ``yui.listTasks``."""

    task: Task
    status: TaskStatus
    progress: float = 0.0
    message: str = ""
    agent_id: str = ""
    files_modified: list[str] = Field(default_factory=list)
    error: str | None = None
    coordinator_id: str = ""
    node: str = Field(default="", description="Cluster node running it; empty: this machine.")
    outcome: TaskOutcome | None = Field(
        default=None, description="Set on `completed`: `changed` or `no_changes`."
    )
    agent_errors: list[str] = Field(
        default_factory=list, description="The agent's own failure lines (see TaskUpdate)."
    )
    submitted_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AgentInfo(Model):
    """An agent a task can name (``yui.listAgents``, ``yui agents``)."""

    name: str = Field(description="What a task's `agent` field names.")
    kind: str = Field(description="Which adapter runs it (kiro, claude, shell, ...).")
    description: str = ""
    takes: Takes = Field(
        description="What a task for it carries: a `prompt`, a `command` argv, or a "
        "`refactor` spec."
    )
    available: bool = Field(description="Whether its executable or configuration is present.")
    reason: str | None = Field(default=None, description="Why it is not available.")


class DoctorReport(Model):
    """What ``yui doctor`` / ``yui.doctor`` found about a workspace: how yui will work there."""

    workspace: str = Field(description="The workspace folder (real path).")
    file_system: str = Field(description="Its file system's type: ext4, nfs4, fuse.sshfs...")
    mount_point: str = Field(description="Where that file system is mounted.")
    flush: str = Field(description="How an apply makes its writes durable there.")
    syncfs: bool = Field(description="True when one syncfs(2) flushes it (else per-file fsync).")
    locks: str = Field(description="Who the lease table's file locks are shared with.")
    control_socket: str = Field(description="Where this repository's control sockets live.")
    confinement: str = Field(description="Whether agents run under bubblewrap, and if not why.")
    confined: bool = Field(description="True when bubblewrap confinement works here.")
