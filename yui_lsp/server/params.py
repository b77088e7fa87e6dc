"""Arguments and results of the LSP commands, and payloads of the server's notifications.

The task-level shapes (Task, TaskInfo, LockRecord, the bus messages) live in
``yui_lsp.protocol`` and are snake_case wherever they travel; these small models only wrap
them for the editor: one camelCase JSON object in, one out (the wrappers' own fields are
camelCase, the records inside them snake_case). Notification payloads are snake_case like
the bus. ``docs/protocol.md`` is generated from both modules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field

from yui_lsp.protocol import (
    AgentInfo,
    CamelModel,
    ChangeKind,
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
    tests: str | None = Field(
        default=None, validation_alias=AliasChoices("tests", "testing"),
        description="Agent for the tests (`testing` as the seed spells it works too).",
    )
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


class PlanParams(FolderParam):
    """`yui.plan`: ask Yui's planner for a plan to review; nothing runs."""

    prompt: str = Field(min_length=1, description="What to build.")
    agents: list[str] | None = Field(
        default=None, description="Agents the plan may use (default: yui and the configured "
        "agents)."
    )
    max_workers: int | None = Field(default=None, ge=1, le=256)


class PlanResult(CamelModel):
    """Answer of `yui.plan`: a validated plan; `plan` is a valid `yui.submitPlan` argument."""

    plan: SubmitPlanParams


class TaskIdParams(CamelModel):
    """`yui.cancelTask`, `yui.retryTask`: one task by its id."""

    task_id: str = Field(min_length=1, description="Id of the task.")


class ResultParams(CamelModel):
    """`yui.applyResult` / `yui.discardResult`: a waiting result, all of it or some files."""

    task_id: str = Field(min_length=1, description="Id of the task in `review`.")
    files: list[str] | None = Field(
        default=None,
        description="Only these files (workspace-relative paths or file URIs); default: all. "
        "Files left out stay waiting.",
    )


class ShowDiffParams(CamelModel):
    """`yui.showDiff`: what a task would change, per file (optionally one file)."""

    task_id: str = Field(min_length=1)
    path: str | None = Field(default=None, description="Workspace-relative path, or all.")


class TaskLogParams(CamelModel):
    """`yui.taskLog`: a task's agent output so far, and optionally the rest as it comes."""

    task_id: str = Field(min_length=1)
    follow: bool = Field(
        default=False,
        description="Then send each new line as `yui/taskLog` until the task ends "
        "(false on a followed task stops following).",
    )
    tail: int | None = Field(default=None, ge=0, description="Only the last N lines so far.")


ConflictChoice = Literal["editor", "mine", "theirs", "rerun"]


class ResolveConflictParams(CamelModel):
    """`yui.resolveConflict`: what to do with a task that ended in `conflict`."""

    task_id: str = Field(min_length=1)
    choice: ConflictChoice = Field(
        description="`editor`: write the merge with conflict markers into the buffers "
        "(unsaved); `mine`: keep the workspace as it is (the conflict is dismissed); "
        "`theirs`: take the task's version of the files; `rerun`: run the task again on "
        "the workspace as the editor holds it now (unsaved buffers included)."
    )
    files: list[str] | None = Field(
        default=None, description="Only these conflicting files (paths or URIs); default: all."
    )


class ParseCommandParams(CamelModel):
    """`yui.parseCommand`: split a command line typed as a prompt into argv."""

    command_line: str = Field(min_length=1, description="e.g. `sh -c \"echo x >> f\"`.")


class ClearTasksParams(FolderParam):
    """`yui.clearTasks`: forget ended tasks in the lists (default: every ended task)."""

    task_ids: list[str] | None = Field(default=None, description="Only these tasks.")


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
    history: int = Field(
        default=0, ge=0, le=1000,
        description="Also list up to this many recent tasks of the repository's history "
        "(ended tasks of earlier runs and other coordinators), newest first, after the live "
        "ones.",
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


class ResultDecision(CamelModel):
    """Answer of `yui.applyResult` / `yui.discardResult`: what was done."""

    ok: bool = Field(description="False when nothing was waiting (nothing was done).")
    message: str = Field(description="What happened, for humans (always set).")
    applied: list[str] = Field(default_factory=list, description="Files applied now.")
    discarded: list[str] = Field(default_factory=list, description="Files dropped now.")
    remaining: list[str] = Field(
        default_factory=list, description="Files still waiting (the task stays in `review`)."
    )


class DiffFile(CamelModel):
    """One changed file: the workspace's text now against the task's result."""

    path: str = Field(description="Workspace-relative path.")
    uri: str
    kind: ChangeKind
    current: str | None = Field(
        description="What the workspace holds now (the unsaved buffer if open); null: absent."
    )
    result: str | None = Field(
        description="The task's result (merged, or the task's own version for a conflict); "
        "null: the task deletes the file."
    )
    binary: bool = Field(default=False, description="Not UTF-8 text: texts are left empty.")
    conflict: str = Field(default="", description="Why the file conflicts, if it does.")


class DiffResult(CamelModel):
    """Answer of `yui.showDiff`: one entry per file, for the client's diff views."""

    task_id: str
    title: str = ""
    source: Literal["review", "conflict"] = Field(
        default="review", description="A result waiting in review, or a conflict's sides."
    )
    files: list[DiffFile] = Field(default_factory=list)
    diff: str = Field(default="", description="Conflicting regions with merge markers.")


class LogLine(CamelModel):
    """One line of a task's log."""

    stream: Literal["stdout", "stderr", "event"] = Field(
        description="The agent's stdout or stderr, or a yui event (state change)."
    )
    line: str


class TaskLogResult(CamelModel):
    """Answer of `yui.taskLog`."""

    task_id: str
    title: str
    lines: list[LogLine]
    done: bool = Field(description="The task has ended: no more lines will come.")
    following: bool = Field(description="New lines will come as `yui/taskLog`.")


class ResolveResult(CamelModel):
    """Answer of `yui.resolveConflict`."""

    ok: bool
    message: str
    files: list[str] = Field(default_factory=list, description="Files the choice touched.")


class ParseCommandResult(CamelModel):
    """Answer of `yui.parseCommand`: the argv the `shell` worker will run."""

    argv: list[str]
    display: str = Field(description="The argv quoted back, to show before running.")


class ClearTasksResult(CamelModel):
    """Answer of `yui.clearTasks`."""

    cleared: list[str]


class LocksChangedNotification(Model):
    """`yui/locksChanged`: the lease table of a workspace folder changed.

    The first one for a folder carries the whole table; after that, only the leases of the
    tasks that changed (a table can hold thousands of leases and changes a task at a time).
    """

    folder: str = Field(description="URI of the workspace folder.")
    tasks: list[str] | None = Field(
        None, description="The tasks whose leases changed: replace every lease of these tasks "
        "with theirs in `locks` (a task with none there holds none any more) and keep the "
        "others. Absent: `locks` is the whole table, replacing what the client holds.")
    locks: list[LockRecord] = Field(description="The leases of `tasks`, or the whole table.")


class ResultReadyNotification(Model):
    """`yui/resultReady` (review mode): a task's merged result waits for apply or discard."""

    task_id: str
    title: str
    paths: list[str] = Field(description="Files the result would change.")


class TaskLogNotification(Model):
    """`yui/taskLog`: new lines of a task followed with `yui.taskLog {follow: true}`."""

    task_id: str
    title: str
    lines: list[LogLine]
    done: bool = Field(default=False, description="Last one: the task ended.")


class ResultAppliedNotification(Model):
    """`yui/resultApplied`: the client applied a task's result; save what `save` lists.

    LSP has no request to save a document, so the server names the documents and the
    client saves them (then may unload buffers it loaded only for the edit: `opened`).
    """

    task_id: str
    title: str
    folder: str = Field(description="URI of the workspace folder.")
    uris: list[str] = Field(description="Every document the result changed.")
    save: list[str] = Field(
        description="Documents to save now, per `saveAfterApply`: `clean` (default) = those "
        "that were closed or unmodified before the apply; `always` = all; `never` = none."
    )
    opened: list[str] = Field(
        default_factory=list, description="Documents that were not open before the apply."
    )
    no_final_newline: list[str] = Field(
        default_factory=list,
        description="Documents whose new text does not end with a line break (Neovim keeps "
        "that in 'eol', which text edits cannot change: the client sets it from this).",
    )


ApplyMode = Literal["auto", "review"]
SaveAfterApply = Literal["clean", "never", "always"]
