"""The coordinator: scheduling, the bus, the audit trail, the coordination domain.

Public face: :class:`ParallelTaskManager` (async), :class:`BlockingTaskManager` (sync
wrapper), :class:`TaskFuture`, :class:`Bus`, and the domain functions front ends use to see
and control tasks of other coordinators on the same repository, and :func:`list_agents`
(every agent a task may name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yui_lsp.lazyimport import exports

if TYPE_CHECKING:
    from yui_lsp.agents.catalog import list_agents
    from yui_lsp.coordinator.blocking import BlockingTaskManager
    from yui_lsp.coordinator.bus import Bus
    from yui_lsp.coordinator.dag import topological_order
    from yui_lsp.coordinator.domain import all_tasks, control, live_coordinators
    from yui_lsp.coordinator.history import recent_tasks
    from yui_lsp.coordinator.manager import ParallelTaskManager
    from yui_lsp.coordinator.records import TaskFuture

__all__ = [
    "BlockingTaskManager",
    "Bus",
    "ParallelTaskManager",
    "TaskFuture",
    "all_tasks",
    "control",
    "list_agents",
    "live_coordinators",
    "recent_tasks",
    "topological_order",
]

# Imported on first use: see yui_lsp/lazyimport.py.
__getattr__ = exports(__name__, globals(), {
    "list_agents": "yui_lsp.agents.catalog",
    "BlockingTaskManager": "yui_lsp.coordinator.blocking",
    "Bus": "yui_lsp.coordinator.bus",
    "topological_order": "yui_lsp.coordinator.dag",
    "all_tasks": "yui_lsp.coordinator.domain",
    "control": "yui_lsp.coordinator.domain",
    "live_coordinators": "yui_lsp.coordinator.domain",
    "recent_tasks": "yui_lsp.coordinator.history",
    "ParallelTaskManager": "yui_lsp.coordinator.manager",
    "TaskFuture": "yui_lsp.coordinator.records",
})
