"""The wire format: every record and message yui-lsp exchanges, as pydantic models.

This package is the single source of truth for shapes that cross a boundary: the bus,
``.yui/audit.jsonl``, ``--json`` output of the CLI, LSP notifications and command arguments,
and the files under ``.yui/``. ``docs/protocol.md`` is generated from it
(``python -m yui_lsp.protocol``).

Conventions (one spelling per payload, documented in docs/protocol.md):
* Every model of this package (messages such as ``task_update``, records such as LockRecord,
  Task and TaskInfo) is snake_case wherever it travels: the bus, notifications, ``--json``,
  files under ``.yui/``, and inside command results.
* The command arguments and results of ``yui_lsp.server.params`` are camelCase
  (:class:`CamelModel`).
* Every model accepts both spellings on input.
"""

from __future__ import annotations

from yui_lsp.protocol.messages import (
    MESSAGE_ADAPTER,
    AgentOutput,
    LocksChanged,
    Message,
    TaskConflict,
    TaskMetrics,
    TaskUpdate,
    WorkspaceEvent,
    parse_message,
)
from yui_lsp.protocol.records import (
    CamelModel,
    ChangeKind,
    ChangeSet,
    FileChange,
    FileConflict,
    LineEdit,
    LockRecord,
    LockType,
    Model,
    Plan,
    RefactorSpec,
    Task,
    TaskOutcome,
    TaskStatus,
    new_task_id,
    utcnow,
)
from yui_lsp.protocol.reports import AgentInfo, DoctorReport, TaskInfo, TaskResult

__all__ = [
    'MESSAGE_ADAPTER', 'AgentInfo', 'AgentOutput', 'CamelModel', 'ChangeKind', 'ChangeSet',
    'DoctorReport', 'FileChange', 'FileConflict', 'LineEdit', 'LockRecord', 'LockType',
    'LocksChanged', 'Message', 'Model', 'Plan', 'RefactorSpec', 'Task', 'TaskConflict',
    'TaskInfo', 'TaskMetrics', 'TaskOutcome', 'TaskResult', 'TaskStatus', 'TaskUpdate',
    'WorkspaceEvent', 'new_task_id', 'parse_message', 'utcnow',
]


def _dump_schema_markdown() -> str:
    """docs/protocol.md body: one JSON schema section per model."""
    import json

    parts = ["# yui-lsp protocol\n", "Generated from `yui_lsp/protocol/`; do not edit.\n"]
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

