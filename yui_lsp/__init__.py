"""yui-lsp: run several AI coding agents in parallel on one repository.

``from yui_lsp import ParallelTaskManager, Task`` is the Python API. The coordinator is
imported lazily so that light users of the package (``yui_lsp.protocol``) stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yui_lsp.protocol import Plan, RefactorSpec, Task, TaskResult, TaskStatus

if TYPE_CHECKING:
    from yui_lsp.coordinator import BlockingTaskManager, ParallelTaskManager, TaskFuture

__version__ = "0.1.0"

__all__ = [
    "BlockingTaskManager", "ParallelTaskManager", "Plan", "RefactorSpec", "Task", "TaskFuture",
    "TaskResult", "TaskStatus",
]

_LAZY = {"ParallelTaskManager", "BlockingTaskManager", "TaskFuture"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from yui_lsp import coordinator

        return getattr(coordinator, name)
    raise AttributeError(f"module 'yui_lsp' has no attribute {name!r}")
