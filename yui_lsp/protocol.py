"""The wire format: every record and message yui-lsp exchanges, as pydantic models.

This module is the single source of truth for shapes that cross a boundary: the bus,
``.yui/audit.jsonl``, ``--json`` output of the CLI, LSP notifications and command arguments,
and the files under ``.yui/``. ``docs/protocol.md`` is generated from it
(``python -m yui_lsp.protocol``).

Conventions (one spelling per payload, documented in docs/protocol.md):
* Every model of this module (messages such as ``task_update``, records such as LockRecord,
  Task and TaskInfo) is snake_case wherever it travels: the bus, notifications, ``--json``,
  files under ``.yui/``, and inside command results.
* The command arguments and results of ``yui_lsp.server.params`` are camelCase
  (:class:`CamelModel`).
* Every model accepts both spellings on input.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    field_validator,
)
from pydantic.alias_generators import to_camel


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (every timestamp in the protocol is one)."""
    return datetime.now(UTC)


class Model(BaseModel):
    """Base of every protocol model: strict about unknown fields, snake_case out, both in."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
    )


class CamelModel(Model):
    """Base of the LSP command arguments and results: camelCase out, both spellings in."""

    model_config = ConfigDict(alias_generator=to_camel)


# --------------------------------------------------------------------------- states


class TaskStatus(StrEnum):
    """Where a task is in its life. The last four are terminal.

    ``review`` (editor, review mode): the merged result waits for the user's apply or
    discard; nothing runs, so clients count it apart from running tasks.
    """

    PENDING = "pending"
    BLOCKED = "blocked"
    QUEUED = "queued"
    ACQUIRING = "acquiring"
    RUNNING = "running"
    INTEGRATING = "integrating"
    REVIEW = "review"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CONFLICT = "conflict"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.CONFLICT}
)


class TaskOutcome(StrEnum):
    """What a completed task did to the workspace (set only once it completed)."""

    CHANGED = "changed"
    #: The agent ended well but no file changed (``agent_errors`` says what it reported).
    NO_CHANGES = "no_changes"


class LockType(StrEnum):
    """An exclusive lease excludes every other lease on the path; shared ones coexist."""

    EXCLUSIVE = "exclusive"
    SHARED = "shared"


# --------------------------------------------------------------------------- tasks

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_task_id(title: str = "") -> str:
    """A readable unique id: a slug of the title plus a short random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
    suffix = uuid.uuid4().hex[:6]
    return f"{slug}-{suffix}" if slug else f"task-{suffix}"


class RefactorSpec(Model):
    """What the built-in ``refactor`` worker replaces, and where."""

    pattern: str = Field(min_length=1, description="Text (or regex with `regex`) to find.")
    replacement: str = Field(description="Replacement; with `regex`, may use \\1 / \\g<name>.")
    regex: bool = Field(default=False, description="Treat `pattern` as a Python regex.")
    files: list[str] = Field(
        default_factory=list,
        description="Globs (relative to the workspace) of files to rewrite; defaults to claims.",
    )


class LineEdit(Model):
    """One line of a text file replaced when a task's result lands (a spec's checkbox tick).

    Found again at landing time in what the workspace holds then (the editor's unsaved
    buffer included): the line equal to `old` nearest to `line`. An edit whose line is gone
    or already reads `new` changes nothing.
    """

    path: str = Field(description="Workspace-relative path of the file.")
    line: int = Field(ge=0, description="0-based line where `old` was when planned (a hint).")
    old: str = Field(description="The line's text when planned, without its line break.")
    new: str = Field(description="What the line becomes.")
    requires: list[str] = Field(
        default_factory=list,
        description="Lines the file must hold, after this task's other line edits, for this "
        "one to apply: a parent's tick waits for its sub-tasks' ticks.",
    )

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if not value or value.startswith("/") or ".." in parts or "\x00" in value:
            raise ValueError(f"{value!r} must be a path inside the workspace")
        return value


class Task(Model):
    """One unit of work for one agent."""

    id: str = Field(default="", description="Unique id; generated from the title if empty.")
    title: str = Field(default="", description="Short human-readable name.")
    prompt: str = Field(default="", description="What the agent is asked to do.")
    agent: str = Field(default="yui", description="Agent profile name (kiro, claude, yui ...).")
    claims: list[str] = Field(
        default_factory=list,
        description="Paths or globs (workspace-relative) the task intends to change.",
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of tasks that must complete first."
    )
    priority: int = Field(default=0, description="Higher runs first among ready tasks.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Wall-clock limit for one run of the agent."
    )
    max_retries: int | None = Field(
        default=None, ge=0, le=10, description="Re-runs after a failed run (default: settings)."
    )
    command: list[str] | None = Field(
        default=None, description="argv for the built-in `shell` worker (never via a shell)."
    )
    refactor: RefactorSpec | None = Field(
        default=None, description="Replacement for the built-in `refactor` worker."
    )
    files: list[str] = Field(
        default_factory=list, description="Extra context files handed to the agent (aider)."
    )
    lock_type: LockType = Field(
        default=LockType.EXCLUSIVE, description="How the claims are leased."
    )
    extra_edits: list[LineEdit] = Field(
        default_factory=list,
        description="Line edits landing with the task's result, in the same apply "
        "(ticking its checkbox in a spec's tasks.md); never leased, merged with the "
        "current text.",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if value and not _ID_RE.match(value):
            raise ValueError(
                "task id must be 1-128 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        return value

    @field_validator("claims", "files")
    @classmethod
    def _relative_paths(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item or item.startswith("/") or "\x00" in item:
                raise ValueError(f"{item!r} must be a non-empty path relative to the workspace")
            if ".." in item.replace("\\", "/").split("/"):
                raise ValueError(f"{item!r} escapes the workspace ('..' is not allowed)")
        return value

    def with_id(self) -> Task:
        """This task, with an id generated from the title when it has none."""
        if self.id:
            return self
        return self.model_copy(update={"id": new_task_id(self.title or self.prompt[:30])})

    @property
    def display_title(self) -> str:
        first_line = self.prompt.strip().splitlines()[0][:60] if self.prompt.strip() else ""
        return self.title or first_line or self.id


class Plan(Model):
    """A set of tasks with dependencies, as read from a plan TOML file."""

    max_workers: int | None = Field(default=None, ge=1, le=256)
    tasks: list[Task] = Field(default_factory=list, alias="task")


# --------------------------------------------------------------------------- leases


class LockRecord(Model):
    """One lease on one path (the seed's File Lock Structure, plus owner process)."""

    file_path: str = Field(description="Workspace-relative path or glob that is leased.")
    locked_by: str = Field(description="Id of the task holding the lease.")
    lock_type: LockType = LockType.EXCLUSIVE
    acquired_at: datetime
    expires_at: datetime
    owner_pid: int = Field(description="Process id of the coordinator holding it.")
    host: str = Field(description="Host name of that process.")
    coordinator_id: str = Field(default="", description="Id of the coordinator instance.")
    agent: str = Field(default="", description="Agent profile of the holding task.")
    task_title: str = Field(default="", description="Title of the holding task.")


# --------------------------------------------------------------------------- change sets


class ChangeKind(StrEnum):
    MODIFY = "modify"
    CREATE = "create"
    DELETE = "delete"
    RENAME = "rename"


class FileChange(Model):
    """One file's change in a sandbox relative to its base."""

    path: str = Field(description="Workspace-relative POSIX path (new path for renames).")
    kind: ChangeKind
    old_path: str | None = Field(default=None, description="Previous path, for renames.")
    binary: bool = False
    mode: int | None = Field(default=None, description="New POSIX mode bits, when changed.")


class ChangeSet(Model):
    """Everything a task changed, as the sandbox differs from its base."""

    task_id: str
    base: str = Field(description="Base commit (or snapshot id) the sandbox started from.")
    changes: list[FileChange] = Field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]


class FileConflict(Model):
    """A file whose three-way merge could not be resolved."""

    path: str
    reason: str = Field(description="Why: overlapping edits, leased by another task, ...")
    hunks: str = Field(default="", description="The conflicting region(s) with markers.")
    ranges: list[tuple[int, int]] = Field(
        default_factory=list, description="0-based [start, end) line ranges in current text."
    )
    #: The base and the task's version of the file, in memory only (never on the wire):
    #: what an editor needs to resolve the conflict later (markers, "take the task's").
    _sides: tuple[bytes | None, bytes | None] | None = PrivateAttr(default=None)

    def with_sides(self, base: bytes | None, theirs: bytes | None) -> FileConflict:
        """This conflict, remembering the base and the task's version of the file."""
        self._sides = (base, theirs)
        return self

    @property
    def sides(self) -> tuple[bytes | None, bytes | None] | None:
        """(base, task's version) when known."""
        return self._sides


# --------------------------------------------------------------------------- messages


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


# --------------------------------------------------------------------------- results


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
    takes: Literal["prompt", "command", "refactor"] = Field(
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


def _dump_schema_markdown() -> str:
    """docs/protocol.md body: one JSON schema section per model."""
    import json

    parts = ["# yui-lsp protocol\n", "Generated from `yui_lsp/protocol.py`; do not edit.\n"]
    for model in (
        Task,
        Plan,
        RefactorSpec,
        LineEdit,
        LockRecord,
        FileChange,
        ChangeSet,
        FileConflict,
        TaskUpdate,
        AgentOutput,
        LocksChanged,
        TaskConflict,
        WorkspaceEvent,
        TaskMetrics,
        TaskResult,
        TaskInfo,
        AgentInfo,
        DoctorReport,
    ):
        doc = (model.__doc__ or "").strip()
        schema = model.model_json_schema(by_alias=False)
        parts.append(
            f"\n## {model.__name__}\n\n{doc}\n\n```json\n{json.dumps(schema, indent=2)}\n```\n"
        )
    return "".join(parts)


if __name__ == "__main__":  # pragma: no cover - docs generator
    print(_dump_schema_markdown())
