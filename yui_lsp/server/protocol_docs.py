"""Generates ``docs/protocol.md``: every command, notification and message, from the models.

Run ``python -m yui_lsp.server.protocol_docs docs/protocol.md`` after changing a model; a
test fails while the committed file differs from what this renders.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from yui_lsp import protocol
from yui_lsp.server import params, spec_params

#: (command, argument model, result model, what it does)
COMMANDS: list[tuple[str, type[BaseModel], type[BaseModel], str]] = [
    ("yui.submitTask", params.SubmitTaskParams, params.SubmitResult,
     "Queue one task; answers at once with its id."),
    ("yui.submitPlan", params.SubmitPlanParams, params.SubmitManyResult,
     "Queue a plan, validated as a whole (a dependency cycle refuses all of it). "
     "`maxWorkers` sets the folder's worker limit."),
    ("yui.develop", params.DevelopParams, params.SubmitManyResult,
     "One task per component (frontend, backend, database, tests, docs) with its agent; "
     "claims from `[tool.yui.components.NAME]` or the defaults."),
    ("yui.multiLang", params.MultiLangParams, params.SubmitManyResult,
     "One task per language part; integration tests run after the others."),
    ("yui.refactor", params.RefactorParams, params.SubmitManyResult,
     "Literal or regex replacement, split into tasks of matching files (one per 5,000)."),
    ("yui.cancelTask", params.TaskIdParams, params.OkResult,
     "Cancel a task (also one run by another coordinator on the repository)."),
    ("yui.retryTask", params.TaskIdParams, params.OkResult,
     "Run an ended task again on the current text."),
    ("yui.listTasks", params.TaskListParams, params.TaskListResult,
     "Every task on the workspace folders: this server's and other coordinators'; "
     "filter by `status`, page with `offset`/`limit`; `verbose` adds prompts and commands."),
    ("yui.listLocks", params.ListParams, params.LockListResult,
     "Every live lease on the workspace folders."),
    ("yui.listAgents", params.ListParams, params.AgentListResult,
     "Every agent a task may name (built-in and configured), what it `takes` (a `prompt`, "
     "a `command` or a `refactor` spec) and whether it is `available` here (else `reason`)."),
    ("yui.doctor", params.ListParams, params.DoctorResult,
     "How yui works in each workspace folder: its file system, how an apply flushes there, "
     "who shares the lease table's locks, where the control sockets live, whether "
     "bubblewrap confinement works."),
    ("yui.applyResult", params.ResultParams, params.ResultDecision,
     "Review: apply a waiting result, all of it or some `files` (the rest keeps waiting)."),
    ("yui.discardResult", params.ResultParams, params.ResultDecision,
     "Review: drop a waiting result or some of its files (all dropped, none applied: the "
     "task ends cancelled); on a conflict: dismiss it. Always says what it did."),
    ("yui.showDiff", params.ShowDiffParams, params.DiffResult,
     "Per changed file, the workspace's text now against the task's result (a waiting "
     "result, or a conflict's task version), for the client's diff views."),
    ("yui.plan", params.PlanParams, params.PlanResult,
     "Ask Yui's planner (the model in `[tool.yui.yui]`) for a plan grounded in the folder's "
     "files; validated (unknown agents, claims outside the folder, cycles are refused with "
     "the reason). Nothing runs: review it, then pass `plan` to `yui.submitPlan`."),
    ("yui.listSpecs", spec_params.ListSpecsParams, spec_params.SpecListResult,
     "Every spec (Kiro `.kiro/specs/NAME/tasks.md`, spec-kit `specs/NAME/tasks.md`) with "
     "done/total and its tasks; an open tasks.md is read from its buffer."),
    ("yui.runSpec", spec_params.RunSpecParams, spec_params.RunSpecResult,
     "Run a spec's unchecked tasks in parallel (dependencies and claims inferred, see "
     "docs/specs.md); each task's checkbox ticks in the same edit as its result."),
    ("yui.taskLog", params.TaskLogParams, params.TaskLogResult,
     "A task's agent output so far (any coordinator's task); `follow` streams the rest as "
     "`yui/taskLog`."),
    ("yui.resolveConflict", params.ResolveConflictParams, params.ResolveResult,
     "The user's choice on a conflict: `editor` (markers in the buffer), `mine`, `theirs`, "
     "`rerun`."),
    ("yui.parseCommand", params.ParseCommandParams, params.ParseCommandResult,
     "Split a command line with shell-word rules (quotes, escapes), to show the argv "
     "before submitting it as `command`."),
    ("yui.clearTasks", params.ClearTasksParams, params.ClearTasksResult,
     "Forget ended tasks in `yui.listTasks` (a re-run shows again)."),
]

#: (method, payload model, when it is sent)
NOTIFICATIONS: list[tuple[str, type[BaseModel], str]] = [
    ("yui/taskUpdate", protocol.TaskUpdate, "Every state change or progress of a task."),
    ("yui/agentOutput", protocol.AgentOutput, "Every line an agent prints."),
    ("yui/taskConflict", protocol.TaskConflict, "A result could not be merged."),
    ("yui/workspaceEvent", protocol.WorkspaceEvent,
     "A step in a task's file handling (sandbox, merge, apply)."),
    ("yui/taskMetrics", protocol.TaskMetrics, "Timings of a finished task."),
    ("yui/locksChanged", params.LocksChangedNotification,
     "The lease table of a folder changed (any process on the repository)."),
    ("yui/resultReady", params.ResultReadyNotification,
     "Review mode: a merged result waits for `yui.applyResult` / `yui.discardResult`."),
    ("yui/resultApplied", params.ResultAppliedNotification,
     "The client applied a result (or a conflict choice): save the documents in `save`."),
    ("yui/taskLog", params.TaskLogNotification,
     "New output lines of a task followed with `yui.taskLog {follow: true}`."),
]

#: Notification payloads defined in params.py (documented with the commands' models).
NOTIFICATION_MODELS: list[type[BaseModel]] = [
    params.LocksChangedNotification, params.ResultReadyNotification,
    params.ResultAppliedNotification, params.TaskLogNotification,
]

_STANDARD = """
## Standard LSP features

- `window/workDoneProgress/create` + `$/progress`: one token per task (`yui/<taskId>/<n>`);
  begin (title `yui: <task title>`, message: the agent), report (percentage, latest
  activity: the agent's last output line or the task's state), end (the outcome).
  `window/workDoneProgress/cancel` on that token cancels the task.
- `workspace/applyEdit`: one per task, label `yui: <task title>`, `documentChanges` with
  versioned `TextDocumentEdit`s for open documents, unversioned ones for closed files, and
  `CreateFile` / `RenameFile` / `DeleteFile`; `changes` for clients without
  `documentChanges` (the server then creates, renames and deletes files on disk itself).
  A refused edit whose documents moved is merged again and resent.
- `textDocument/publishDiagnostics` (source `yui`): Information on line 0 of every open
  document under a lease (`code: "lease"`, `data: {kind, taskId}`); Warnings on the
  conflicting lines of a task that ended in conflict (`code: "conflict"`,
  `data: {kind, taskId, path}`).
- `textDocument/codeAction`: on conflicts the choices of `yui.resolveConflict` ("Re-run on
  my current text", "Resolve in editor (conflict markers)", "Keep mine", "Take the task's",
  the last three for the diagnostic's file) and "Show diff" (`yui.showDiff`, whose answer a
  client shows itself: Neovim defines it as a client-side command); on leases
  "Cancel task '<title>'".
- `textDocument/codeLens`: "Cancel task '<title>'" on line 0 of leased files. In an open
  spec tasks.md: "▶▶ Run N tasks in parallel (W waves)" on line 0 and "▶ Run task" on every
  unchecked task (`yui.runSpec`), "■ Cancel (<state>)" on a task that is running.
- `textDocument/publishDiagnostics` in a spec tasks.md: one per task line of a run
  (`code: "spec-task"`, `data: {kind, taskId, key}`): Information while queued or running,
  Error when failed, Warning on conflict or cancel; cleared when the task's result lands.
- `textDocument/hover` on a task line of a run: its task id, state, agent, time and files.
- Settings: `initializationOptions` (the settings object, or nested under `yui`) and
  `workspace/configuration` section `yui` per folder: any `[tool.yui]` setting in either
  spelling, e.g. `maxWorkers`, `agents`, `applyMode` (`auto` | `review`),
  `saveAfterApply` (`clean` | `never` | `always`), `yui` (the model of Yui's worker and
  planner: `{"model": ..., "provider": ..., "baseUrl": ...}`).
"""
_CONTRACT = """
## How clients use them

**Task states.** `pending → blocked → queued → acquiring → running → integrating →
[review →] completed | failed | cancelled | conflict`. `review` means a merged result waits
for the user (review mode): nothing runs, so clients count it apart from running tasks
(e.g. "1 running, 1 to review"). A `completed` update carries `outcome`: `changed`, or
`no_changes` — the agent ended well but no file changed; show that distinctly, with the
agent's own failure lines in `agent_errors` (a failed Codex `file_change`, a Claude tool
error) when there are any.

**Review workflow.** On `yui/resultReady` (and for every task listed in state `review`) a
client offers Apply, Discard and Show Diff. `yui.showDiff {taskId}` answers one entry per
file with `current` (what the workspace holds now: the unsaved buffer if open, else the
file; null if absent) and `result` (what the task would leave; null: deleted); a client
opens its native diff view on those two texts. `yui.applyResult {taskId, files?}` and
`yui.discardResult {taskId, files?}` act on all waiting files or some (paths or URIs);
the answer lists `applied`, `discarded` and `remaining`, and `message` always says what
happened (`ok: false` when nothing was waiting). The task stays in `review` while files
remain. Apply and Discard are offered only for tasks in `review` (Discard also dismisses a
conflict). A file changed since the merge makes the result merge again: applied whole it
lands once merged; applied in part it waits for review again.

**Saving.** LSP has no request to save a document, so after each applied edit the server
sends `yui/resultApplied {taskId, title, folder, uris, save, opened}` and the client saves
every document in `save` (in Neovim `:write` in that buffer; in VS Code
`TextDocument.save()`). `saveAfterApply`: `clean` (default) lists the documents that were
closed or whose buffer equalled the file on disk before the apply (the user's unsaved work
is never saved for them), `always` lists all, `never` none. `opened` lists documents that
were not open before: a client that had to load them only for the edit may unload them
once saved, so no hidden modified buffers remain. `no_final_newline` lists documents whose
new text ends without a line break: text edits cannot change that in Neovim (it is the
buffer's `'eol'`), so the plugin sets `'eol'` from it and saves with `'nofixeol'`. Edits
never start past the last line (an insertion at the end replaces the last line instead).
Clients that cannot apply edits get the result written on disk by the server (journaled).
A client should announce `workspaceEdit.documentChanges`: edits of open documents then carry
the version the merge saw, and a client whose buffer moved on (a change not yet sent
included) refuses the edit with a reason naming the version, after sending that change; the
server merges again. With `changes` only, a change the client had not sent yet is lost.

**Live output.** `yui.taskLog {taskId, follow: true}` answers the lines so far (`stream`:
`stdout`, `stderr`, or `event` for yui's own notes) and then sends `yui/taskLog {taskId,
title, lines, done}` with new lines until the task ends (`done: true`, possibly with no
lines). Works for tasks of other coordinators too (the log is `.yui/logs/<id>.log`).
`follow: false` stops following. Error messages name tasks as `'<title>' (<id>)`.

**Conflict choices.** A task that ended in `conflict` (after its automatic re-runs) offers
`yui.resolveConflict {taskId, choice, files?}`: `editor` writes the merge with standard
`<<<<<<< yours (editor)` / `=======` / `>>>>>>> task '<title>'` markers into the documents,
unsaved (the client's merge-conflict tools then apply); `mine` keeps the workspace as it is;
`theirs` takes the task's version of the files (saved per `saveAfterApply`); `rerun` runs
the task again. Every sandbox — first runs, automatic conflict re-runs and `rerun` — holds
the workspace as the editor holds it: the open documents' current text laid over the files
on disk, and that same text is the base of the three-way merge.

**Commands typed as prompts.** For the `shell` agent a client sends the typed line to
`yui.parseCommand {commandLine}`, shows `display` (the argv quoted back) for confirmation,
then submits `command: argv`. Unbalanced quotes are an InvalidParams error.

**Other coordinators.** Tasks run by another process on the repository (`yui run` in a
terminal, another editor window) are relayed: their `yui/taskUpdate`s reach the client
like the server's own (with their `coordinatorId`), up to their end. `yui.listTasks` lists
them too; `yui.clearTasks` hides ended tasks from it.
"""


_CONVENTION = """\
**One spelling per payload.** The protocol records and messages (`Task`, `TaskInfo`,
`LockRecord`, `AgentInfo`, `task_update` and the other bus messages, defined in
`yui_lsp/protocol.py`) are snake_case wherever they appear: notifications, the audit log,
`yui --json`, files under `.yui/`, and inside command results (`yui.listTasks` → `tasks[]`,
`yui.listLocks` → `locks[]`). The command arguments and results themselves (defined in
`yui_lsp/server/params.py`) are camelCase: `taskId`, `taskIds`, `maxWorkers`, `total`.
Notification payloads are snake_case. On input every field is accepted in both spellings.

"""


def _schema(model: type[BaseModel], by_alias: bool, result: bool = False) -> str:
    schema = model.model_json_schema(by_alias=by_alias,
                                     mode="serialization" if result else "validation")
    return f"```json\n{json.dumps(schema, indent=2)}\n```\n"


def render() -> str:
    """The whole of docs/protocol.md."""
    parts = [
        "# yui-lsp protocol\n\n",
        "Generated by `python -m yui_lsp.server.protocol_docs docs/protocol.md` from "
        "`yui_lsp/protocol.py` and `yui_lsp/server/params.py`; do not edit by hand.\n\n",
        "Commands (`workspace/executeCommand`) take ONE JSON object argument and return one. "
        "Errors: a bad argument is a JSON-RPC InvalidParams (-32602) naming the field; other "
        "user errors use code -32001 with the message. A message the server cannot take is "
        "answered too, never left waiting: ParseError (-32700, `id` null) for a frame or body "
        "it cannot read (it reads on from the next `Content-Length` header); InvalidRequest "
        "(-32600) for a batch, a non-object, an id that is not an integer or a string, a "
        "`jsonrpc` other than \"2.0\", a second `initialize` and any request after "
        "`shutdown`; ServerNotInitialized (-32002) before `initialize`; InvalidParams for "
        "params the LSP types refuse; MethodNotFound for an unknown request.\n\n",
        _CONVENTION,
        "## Commands\n\n| command | argument | result | what it does |\n|---|---|---|---|\n",
    ]
    for name, argument, result, what in COMMANDS:
        parts.append(f"| `{name}` | {argument.__name__} | {result.__name__} | {what} |\n")
    parts.append("\n## Notifications (server → client)\n\n| method | payload | when |\n"
                 "|---|---|---|\n")
    for method, payload, when in NOTIFICATIONS:
        parts.append(f"| `{method}` | {payload.__name__} | {when} |\n")
    parts.append(_STANDARD)
    parts.append(_CONTRACT)
    parts.append("\n## Command arguments and results (camelCase wrappers, snake_case records)\n")
    seen: set[str] = set()
    for _, argument, result, _ in COMMANDS:
        for model in (argument, result):
            if model.__name__ in seen:
                continue
            seen.add(model.__name__)
            doc = (model.__doc__ or "").strip()
            schema = _schema(model, by_alias=True, result=model is result)
            parts.append(f"\n### {model.__name__}\n\n{doc}\n\n{schema}")
    for model in NOTIFICATION_MODELS:
        doc = (model.__doc__ or "").strip()
        parts.append(f"\n### {model.__name__}\n\n{doc}\n\n{_schema(model, by_alias=False)}")
    body = protocol._dump_schema_markdown().split("\n", 2)[2]
    parts.append("\n## Protocol models (snake_case on the bus)\n" + body.replace("\n## ", "\n### "))
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
