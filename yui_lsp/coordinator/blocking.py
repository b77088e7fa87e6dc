"""A thin synchronous face over ParallelTaskManager, for scripts and notebooks."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from yui_lsp.coordinator.manager import ParallelTaskManager
from yui_lsp.coordinator.records import TaskFuture
from yui_lsp.protocol import Plan, Task, TaskResult, TaskStatus


class BlockingTaskManager:
    """``with BlockingTaskManager(root) as m: m.submit_task(...); m.wait_for_completion()``.

    The coordinator runs on an event loop owned by an anyio blocking portal; every method
    here is a call into that loop.
    """

    def __init__(self, root: str | Path = ".", **options: Any) -> None:
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        try:
            self.manager: ParallelTaskManager = self._stack.enter_context(
                self._portal.wrap_async_context_manager(ParallelTaskManager(root, **options))
            )
        except BaseException:
            self._stack.close()
            raise

    def submit_task(self, task: Task | dict[str, Any], agent_type: str | None = None) -> TaskFuture:
        future: TaskFuture = self._portal.call(self.manager.submit_task, task, agent_type)
        return future

    def submit_plan(self, plan: Plan) -> list[TaskFuture]:
        return self._portal.call(self.manager.submit_plan, plan)

    def wait_for_completion(self, timeout: float | None = None) -> list[TaskResult]:
        return self._portal.call(self.manager.wait_for_completion, timeout)

    def get_results(self) -> list[TaskResult]:
        return self._portal.call(self.manager.get_results)

    def monitor_progress(self) -> dict[str, TaskStatus]:
        return self._portal.call(self.manager.monitor_progress)

    def cancel(self, task_id: str) -> bool:
        return self._portal.call(self.manager.cancel, task_id)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> BlockingTaskManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
