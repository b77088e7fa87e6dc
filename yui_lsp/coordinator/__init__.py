"""The coordinator: scheduling, the bus, the audit trail, the coordination domain.

Public face: :class:`ParallelTaskManager` (async), :class:`BlockingTaskManager` (sync
wrapper), :class:`TaskFuture`, :class:`Bus`, and the domain functions front ends use to see
and control tasks of other coordinators on the same repository, and :func:`list_agents`
(every agent a task may name).
"""

from yui_lsp.agents.catalog import list_agents
from yui_lsp.coordinator.blocking import BlockingTaskManager
from yui_lsp.coordinator.bus import Bus
from yui_lsp.coordinator.dag import topological_order
from yui_lsp.coordinator.domain import all_tasks, control, live_coordinators
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
    "topological_order",
]
