"""Records of the wire format: tasks, plans, leases, change sets, conflicts (see the package
docstring of :mod:`yui_lsp.protocol` for the conventions)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)
from pydantic.alias_generators import to_camel

# Defined apart (no pydantic) and re-exported here, where the models use them.
from yui_lsp.protocol.states import ChangeKind as ChangeKind
from yui_lsp.protocol.states import LockType as LockType
from yui_lsp.protocol.states import TaskOutcome as TaskOutcome
from yui_lsp.protocol.states import TaskStatus as TaskStatus


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
