"""Arguments and results of the LSP commands, and payloads of the server's notifications.

The task-level shapes (Task, TaskInfo, LockRecord, the bus messages) live in
``yui_lsp.protocol`` and are snake_case wherever they travel; these small models only wrap
them for the editor: one camelCase JSON object in, one out (the wrappers' own fields are
camelCase, the records inside them snake_case). Notification payloads are snake_case like
the bus. ``docs/protocol.md`` is generated from both modules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from yui_lsp.protocol import (
    AgentInfo,
    CamelModel,
    DoctorReport,
    LockRecord,
    Model,
    Task,
    TaskInfo,
    TaskStatus,
)


class FolderParam(CamelModel):
    """Mixin: which workspace folder a command targets (multi-root workspaces)."""

    folder: str | None = Field(
        default=None,
        description="Workspace folder URI or path; default: the first folder.",
    )


class SubmitTaskParams(Task):
    """`yui.submitTask`: one task (every field of Task; camelCase, snake_case accepted)."""

    model_config = CamelModel.model_config

    folder: str | None = Field(
        default=None, description="Workspace folder URI or path; default: the first folder."
    )


class SubmitPlanParams(FolderParam):
    """`yui.submitPlan`: a whole plan, validated as one (cycles are refused)."""

    tasks: list[Task] = Field(min_length=1, description="The plan's tasks.")
    max_workers: int | None = Field(
        default=None, ge=1, le=256, description="Run at most this many tasks at once."
    )


class RefactorParams(FolderParam):
    """`yui.refactor`: a literal or regex replacement over globs, split into tasks."""

    pattern: str = Field(min_length=1, description="Text (or regex) to find.")
    replacement: str = Field(description="Replacement text.")
    files: list[str] = Field(min_length=1, description="Globs of the files to rewrite.")
    regex: bool = Field(default=False, description="Treat `pattern` as a Python regex.")
    max_workers: int | None = Field(default=None, ge=1, le=256)


class DevelopParams(FolderParam):
    """`yui.develop`: one task per project component, each with its agent."""

    frontend: str | None = Field(default=None, description="Agent for the frontend.")
    backend: str | None = Field(default=None, description="Agent for the backend.")
    database: str | None = Field(default=None, description="Agent for the database.")
    tests: str | None = Field(default=None, description="Agent for the tests.")
    docs: str | None = Field(default=None, description="Agent for the docs.")
    prompt: str = Field(default="", description="What to build, handed to every agent.")
    max_workers: int | None = Field(default=None, ge=1, le=256)


class MultiLangParams(FolderParam):
    """`yui.multiLang`: one task per language part of the project."""

    python: str | None = Field(default=None, description="Agent for the Python code.")
    typescript: str | None = Field(default=None, description="Agent for the TypeScript code.")
    rust: str | None = Field(default=None, description="Agent for the Rust code.")
    go: str | None = Field(default=None, description="Agent for the Go code.")
    java: str | None = Field(default=None, description="Agent for the Java code.")
    integration_tests: str | None = Field(
        default=None, description="Agent for the integration tests (run after the others)."
    )
    prompt: str = Field(default="", description="What to build, handed to every agent.")
    max_workers: int | None = Field(default=None, ge=1, le=256)


class TaskIdParams(CamelModel):
    """`yui.cancelTask`, `yui.retryTask`, `yui.applyResult`, `yui.discardResult`."""

    task_id: str = Field(min_length=1, description="Id of the task.")


class ShowDiffParams(CamelModel):
    """`yui.showDiff`: the conflicting hunks of a task, optionally of one file."""

    task_id: str = Field(min_length=1)
    path: str | None = Field(default=None, description="Workspace-relative path, or all.")


class ListParams(FolderParam):
    """`yui.listLocks`: no arguments needed."""


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class TaskListParams(FolderParam):
    """`yui.listTasks`: every argument is optional; none lists every task, compactly."""

    status: Annotated[list[TaskStatus] | None, BeforeValidator(_one_or_many)] = Field(
        default=None,
        description="Only tasks in this status (or any of these statuses).",
    )
    limit: int | None = Field(
        default=None, ge=0, description="At most this many tasks (after `offset`)."
    )
    offset: int = Field(default=0, ge=0, description="Skip this many matching tasks first.")
    verbose: bool = Field(
        default=False,
        description="Include each task's `prompt` and `command` (left out by default: "
        "they can be long and no task list shows them).",
    )


class SubmitResult(CamelModel):
    """Answer of `yui.submitTask`."""

    task_id: str


class SubmitManyResult(CamelModel):
    """Answer of the commands that submit several tasks."""

    task_ids: list[str]


class TaskListResult(CamelModel):
    """Answer of `yui.listTasks`: this server's tasks and every other coordinator's.

    Tasks come in submission order, this server's first. Unless `verbose` was asked for,
    each `task` lacks `prompt` and `command`.
    """

    tasks: list[TaskInfo]
    total: int = Field(description="How many tasks match the filter (before paging).")


class DoctorResult(CamelModel):
    """Answer of `yui.doctor`: one report per workspace folder."""

    reports: list[DoctorReport]


class LockListResult(CamelModel):
    """Answer of `yui.listLocks`: every live lease on the workspace folders."""

    locks: list[LockRecord]


class AgentListResult(CamelModel):
    """Answer of `yui.listAgents`: every agent name a task may use, built-in or configured."""

    agents: list[AgentInfo]


class OkResult(CamelModel):
    """Answer of the control commands."""

    ok: bool = Field(description="False when there was nothing to do (e.g. already ended).")
    message: str = ""


class DiffResult(CamelModel):
    """Answer of `yui.showDiff`."""

    task_id: str
    diff: str = Field(description="Conflicting regions with merge markers.")


class LocksChangedNotification(Model):
    """`yui/locksChanged`: the whole lease table of a workspace folder, after any change."""

    folder: str = Field(description="URI of the workspace folder.")
    locks: list[LockRecord]


class ResultReadyNotification(Model):
    """`yui/resultReady` (review mode): a task's merged result waits for apply or discard."""

    task_id: str
    title: str
    paths: list[str] = Field(description="Files the result would change.")


ApplyMode = Literal["auto", "review"]
