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
from yui_lsp.server import params

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
     "Literal or regex replacement, split into tasks of matching files (~2 per worker)."),
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
    ("yui.applyResult", params.TaskIdParams, params.OkResult,
     "Review mode: apply the held result of a task."),
    ("yui.discardResult", params.TaskIdParams, params.OkResult,
     "Review mode: drop a held result (the task ends cancelled); on a conflict: dismiss it."),
    ("yui.showDiff", params.ShowDiffParams, params.DiffResult,
     "The conflicting regions of a task that ended in conflict."),
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
- `textDocument/codeAction`: on conflicts "Retry on current text" (`yui.retryTask`),
  "Show diff" (`yui.showDiff`), "Discard" (`yui.discardResult`); on leases "Cancel task".
- `textDocument/codeLens`: "Cancel task '<title>'" on line 0 of leased files.
- Settings: `initializationOptions` (the settings object, or nested under `yui`) and
  `workspace/configuration` section `yui` per folder: any `[tool.yui]` setting in either
  spelling, e.g. `maxWorkers`, `agents`, `applyMode` (`auto` | `review`).
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
        "user errors use code -32001 with the message.\n\n",
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
    for model in (params.LocksChangedNotification, params.ResultReadyNotification):
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
