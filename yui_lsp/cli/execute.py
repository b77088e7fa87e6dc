"""Running a list of tasks to the end with a coordinator, a view and clean interruption."""

from __future__ import annotations

import gc
import signal
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager
from yui_lsp.protocol import Message, Plan, Task, TaskResult, TaskStatus, TaskUpdate

from .view import View

#: Exit codes of `yui run` and friends.
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
#: How long running tasks get to stop (their process groups end) after Ctrl-C.
_STOP_GRACE_S = 15.0
#: Messages a view may lag behind before the oldest are dropped (the view never blocks work).
_VIEW_BUFFER = 100_000


@dataclass
class RunOptions:
    """How to run: where, how wide, and how to show it."""

    root: Path
    settings: Settings
    max_workers: int | None = None
    sequential: bool = False


@dataclass
class RunOutcome:
    """Every task's result, and whether the user interrupted the run."""

    results: list[TaskResult]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        ok = all(r.status == TaskStatus.COMPLETED for r in self.results)
        return EXIT_OK if ok else EXIT_FAILED


async def run_tasks(tasks: list[Task], options: RunOptions, view: View) -> RunOutcome:
    """Submit ``tasks`` as one plan, show their progress, and wait for every one to end.

    SIGINT/SIGTERM cancel every unfinished task (their agents' process groups end) and the
    run reports ``interrupted``; a second signal stops waiting for them.
    """
    outcome = RunOutcome(results=[])
    finals = _Finals(view)
    # What was loaded so far (modules, models, settings) lives as long as the run: moved out
    # of the collector's sight, the tens of thousands of objects a big landing allocates do
    # not make it scan them all again (half of the collector's time on a 3,000-file refactor).
    gc.freeze()
    async with ParallelTaskManager(
        options.root, settings=options.settings, max_workers=options.max_workers,
        sequential=options.sequential,
    ) as manager:
        with manager.bus.subscribe(_VIEW_BUFFER) as stream:
            # Submitted before the task group opens, so a plan error surfaces as itself.
            await manager.submit_plan(Plan(task=tasks))
            with view:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_pump, stream, finals)
                    tg.start_soon(_watch_signals, manager, outcome, view, tg.cancel_scope)
                    await manager.wait_for_completion()
                    tg.cancel_scope.cancel()
                _drain(stream, finals)
            outcome.results = finals.results(tasks, manager.get_results())
    # After the live display is gone, so the table is not drawn under moving bars.
    view.summary(outcome.results)
    return outcome


class _Finals:
    """Shows every message and keeps each task's final state from the bus: a coordinator
    keeps only ``task_retention`` results, and the summary and exit code count every task."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.ended: dict[str, TaskUpdate] = {}

    def handle(self, message: Message) -> None:
        if isinstance(message, TaskUpdate) and message.status.terminal:
            self.ended[message.task_id] = message
        self.view.handle(message)

    def results(self, tasks: list[Task], kept: list[TaskResult]) -> list[TaskResult]:
        by_id = {r.task_id: r for r in kept}
        for task_id, update in self.ended.items():
            by_id.setdefault(task_id, TaskResult(
                task_id=task_id, title=update.title, agent=update.agent, status=update.status,
                files_modified=update.files_modified, error=update.error))
        order = {task.id: index for index, task in enumerate(tasks)}
        return sorted(by_id.values(), key=lambda r: order.get(r.task_id, len(order)))


async def _pump(stream: MemoryObjectReceiveStream[Message], view: _Finals) -> None:
    async for message in stream:
        view.handle(message)


def _drain(stream: MemoryObjectReceiveStream[Message], view: _Finals) -> None:
    """Show what was published but not yet shown (every final state is in here)."""
    while True:
        try:
            view.handle(stream.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            return


async def _watch_signals(
    manager: ParallelTaskManager, outcome: RunOutcome, view: View, run_scope: anyio.CancelScope
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if outcome.interrupted:
                view.note("stopping now")
                # The manager's exit cancels whatever is left, process groups included.
                run_scope.cancel()
                return
            outcome.interrupted = True
            view.note("interrupted: cancelling running tasks (Ctrl-C again to stop at once)")
            for task_id, status in manager.monitor_progress().items():
                if not status.terminal:
                    await manager.cancel(task_id)
            # wait_for_completion in the run returns once every cancel has landed.
            with anyio.move_on_after(_STOP_GRACE_S):
                await manager.wait_for_completion()
