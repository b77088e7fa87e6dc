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

from typing import TYPE_CHECKING

from yui_lsp.lazyimport import exports

if TYPE_CHECKING:
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


# Imported on first use (see yui_lsp/lazyimport.py): `yui status` reads the states without
# building every pydantic model.
__getattr__ = exports(__name__, globals(), {
    'AgentInfo': 'yui_lsp.protocol.reports',
    'AgentOutput': 'yui_lsp.protocol.messages',
    'CamelModel': 'yui_lsp.protocol.records',
    'ChangeKind': 'yui_lsp.protocol.states',
    'ChangeSet': 'yui_lsp.protocol.records',
    'DoctorReport': 'yui_lsp.protocol.reports',
    'FileChange': 'yui_lsp.protocol.records',
    'FileConflict': 'yui_lsp.protocol.records',
    'LineEdit': 'yui_lsp.protocol.records',
    'LockRecord': 'yui_lsp.protocol.records',
    'LockType': 'yui_lsp.protocol.states',
    'LocksChanged': 'yui_lsp.protocol.messages',
    'MESSAGE_ADAPTER': 'yui_lsp.protocol.messages',
    'Message': 'yui_lsp.protocol.messages',
    'Model': 'yui_lsp.protocol.records',
    'Plan': 'yui_lsp.protocol.records',
    'RefactorSpec': 'yui_lsp.protocol.records',
    'Task': 'yui_lsp.protocol.records',
    'TaskConflict': 'yui_lsp.protocol.messages',
    'TaskInfo': 'yui_lsp.protocol.reports',
    'TaskMetrics': 'yui_lsp.protocol.messages',
    'TaskOutcome': 'yui_lsp.protocol.states',
    'TaskResult': 'yui_lsp.protocol.reports',
    'TaskStatus': 'yui_lsp.protocol.states',
    'TaskUpdate': 'yui_lsp.protocol.messages',
    'WorkspaceEvent': 'yui_lsp.protocol.messages',
    'new_task_id': 'yui_lsp.protocol.records',
    'parse_message': 'yui_lsp.protocol.messages',
    'utcnow': 'yui_lsp.protocol.records',
})


def _dump_schema_markdown() -> str:
    """docs/protocol.md body: one JSON schema section per model."""
    import json

    from yui_lsp.protocol.messages import (
        AgentOutput,
        LocksChanged,
        TaskConflict,
        TaskMetrics,
        TaskUpdate,
        WorkspaceEvent,
    )
    from yui_lsp.protocol.records import (
        ChangeSet,
        FileChange,
        FileConflict,
        LineEdit,
        LockRecord,
        Plan,
        RefactorSpec,
        Task,
    )
    from yui_lsp.protocol.reports import AgentInfo, DoctorReport, TaskInfo, TaskResult

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

