"""What a person watching the terminal sees: bars for running tasks, marks for ended ones."""

from __future__ import annotations

import io
import re

from rich.console import Console

from yui_lsp.cli.view import LiveView, PlainView
from yui_lsp.protocol import TaskResult, TaskStatus, TaskUpdate

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _update(task_id: str, status: TaskStatus, progress: float = 0.0, message: str = "",
            error: str | None = None) -> TaskUpdate:
    return TaskUpdate(agent_id=f"yui_worker_{task_id}", task_id=task_id, status=status,
                      progress=progress, agent="yui", message=message, error=error)


def _screen(buffer: io.StringIO) -> str:
    return _ANSI.sub("", buffer.getvalue()).replace("\r", "\n")


def test_live_view_shows_running_tasks_counts_and_outcomes() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    with LiveView(console) as view:
        view.handle(_update("api", TaskStatus.QUEUED))
        view.handle(_update("web", TaskStatus.QUEUED))
        view.handle(_update("api", TaskStatus.RUNNING, 0.4, "editing users.py"))
        view._progress.refresh()
        running = _screen(buffer)
        view.handle(_update("api", TaskStatus.COMPLETED, 1.0, "2 files changed"))
        view.handle(_update("web", TaskStatus.FAILED, error="exit code 3"))
    screen = _screen(buffer)
    assert "api (yui)" in running and "editing users.py" in running
    assert "1 running · 1 queued" in running
    assert "✓ api completed" in screen
    assert "✗ web failed — exit code 3" in screen
    assert "1 completed · 1 failed" in screen  # overall bar's counts at the end
    assert "100%" in screen


def test_plain_view_prints_one_line_per_state_change() -> None:
    buffer = io.StringIO()
    view = PlainView(Console(file=buffer, force_terminal=False, width=200))
    view.handle(_update("api", TaskStatus.RUNNING, 0.1, "start"))
    view.handle(_update("api", TaskStatus.RUNNING, 0.5, "halfway"))  # same state: no line
    view.handle(_update("api", TaskStatus.COMPLETED, 1.0, "1 files changed"))
    view.summary([TaskResult(task_id="api", agent="yui", status=TaskStatus.COMPLETED,
                             files_modified=["a.py"])])
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "api: running [yui_worker_api] — start"
    assert lines[1] == "api: completed — 1 files changed"
    assert lines[-1] == "1 completed"
    assert "\x1b[" not in buffer.getvalue()
