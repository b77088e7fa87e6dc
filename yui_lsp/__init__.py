"""yui-lsp: run several AI coding agents in parallel on one repository.

``from yui_lsp import ParallelTaskManager, Task`` is the Python API. Every name is imported
lazily: ``yui --version`` and other light users of the package must not pay for pydantic,
anyio or the coordinator (``tests/test_startup.py`` keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yui_lsp.lazyimport import exports

if TYPE_CHECKING:
    from yui_lsp.coordinator import BlockingTaskManager, ParallelTaskManager, TaskFuture
    from yui_lsp.protocol import Plan, RefactorSpec, Task, TaskResult, TaskStatus

__version__ = "0.1.0"

__all__ = [
    "BlockingTaskManager", "ParallelTaskManager", "Plan", "RefactorSpec", "Task", "TaskFuture",
    "TaskResult", "TaskStatus",
]

__getattr__ = exports(__name__, globals(), {
    **dict.fromkeys(("ParallelTaskManager", "BlockingTaskManager", "TaskFuture"),
                    "yui_lsp.coordinator"),
    **dict.fromkeys(("Plan", "RefactorSpec", "Task", "TaskResult", "TaskStatus"),
                    "yui_lsp.protocol"),
})
