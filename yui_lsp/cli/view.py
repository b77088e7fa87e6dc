"""What a running `yui` shows: a live rich view on a terminal, plain lines otherwise, or
protocol messages as JSON lines with ``--json``.

Views only consume bus messages; they never touch the coordinator.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from yui_lsp.protocol import Message, TaskResult, TaskStatus, TaskUpdate
from yui_lsp.wording import ellipsize

_ACTIVE = frozenset({TaskStatus.ACQUIRING, TaskStatus.RUNNING, TaskStatus.INTEGRATING})
_MARKS = {
    TaskStatus.COMPLETED: ("✓", "green"),
    TaskStatus.FAILED: ("✗", "red"),
    TaskStatus.CONFLICT: ("!", "yellow"),
    TaskStatus.CANCELLED: ("-", "dim"),
}


class View(Protocol):
    """Shows a run: opened before the first task is submitted, closed after the last ends."""

    def __enter__(self) -> View: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def handle(self, message: Message) -> None:
        """Show one bus message."""

    def note(self, text: str) -> None:
        """A line for humans (hidden in JSON mode)."""

    def summary(self, results: list[TaskResult]) -> None:
        """The outcome of every task, once the run is over."""


class Counts:
    """Latest status of every task seen, for the "3 running · 2 done" line."""

    def __init__(self) -> None:
        self.status: dict[str, TaskStatus] = {}

    def update(self, message: TaskUpdate) -> TaskStatus | None:
        """Record ``message``; returns the previous status of its task."""
        previous = self.status.get(message.task_id)
        self.status[message.task_id] = message.status
        return previous

    @property
    def done(self) -> int:
        return sum(1 for s in self.status.values() if s.terminal)

    def line(self) -> str:
        tally: dict[str, int] = {}
        for status in self.status.values():
            key = "running" if status in _ACTIVE else status.value
            tally[key] = tally.get(key, 0) + 1
        order = ["running", "queued", "blocked", "pending", "completed", "failed", "conflict",
                 "cancelled"]
        return " · ".join(f"{tally[k]} {k}" for k in order if tally.get(k))


class JsonView:
    """Every protocol message as one JSON line on stdout, nothing else."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def __enter__(self) -> JsonView:
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.flush()

    def handle(self, message: Message) -> None:
        self._out.write(message.model_dump_json() + "\n")
        self._out.flush()

    def note(self, text: str) -> None:
        """Not shown: stdout carries protocol messages only."""

    def summary(self, results: list[TaskResult]) -> None:
        """Not shown: the final task_update of each task already says it."""


class PlainView:
    """One line per state change, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.counts = Counts()

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def handle(self, message: Message) -> None:
        if not isinstance(message, TaskUpdate):
            return
        if self.counts.update(message) == message.status:
            return  # progress within a state: too chatty for a log
        detail = message.error or message.message
        where = f" [{message.agent_id}]" if message.status in _ACTIVE else ""
        tail = f" — {detail}" if detail else ""
        self.console.print(
            f"{message.task_id}: {message.status.value}{where}{tail}",
            markup=False, highlight=False, soft_wrap=True,
        )

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def summary(self, results: list[TaskResult]) -> None:
        print_summary(self.console, results)


class LiveView:
    """A bar per running task, an overall bar and the counts, redrawn in place."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.counts = Counts()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}", justify="left"),
            BarColumn(bar_width=28),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}", style="dim"),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self._overall: TaskID | None = None
        self._bars: dict[str, TaskID] = {}

    def __enter__(self) -> LiveView:
        self._progress.__enter__()
        self._overall = self._progress.add_task("all tasks", total=0, detail="")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for bar in self._bars.values():
            self._progress.remove_task(bar)
        self._bars.clear()
        self._progress.__exit__(exc_type, exc, tb)

    def handle(self, message: Message) -> None:
        if not isinstance(message, TaskUpdate):
            return
        previous = self.counts.update(message)
        task_id, status = message.task_id, message.status
        bar = self._bars.get(task_id)
        if status in _ACTIVE:
            label = f"{task_id} ({message.agent})"[:40]
            if bar is None:
                bar = self._bars[task_id] = self._progress.add_task(label, total=1.0, detail="")
            self._progress.update(bar, completed=message.progress, detail=message.message[:60])
        elif bar is not None:
            self._progress.remove_task(self._bars.pop(task_id))
        if status.terminal and previous != status:
            mark, colour = _MARKS[status]
            reason = message.error or message.message
            self._progress.console.print(
                f"[{colour}]{mark}[/] {task_id} {status.value}"
                + (f" [dim]— {_escape(reason)}[/]" if reason else ""),
                highlight=False,
            )
        assert self._overall is not None
        self._progress.update(
            self._overall, total=len(self.counts.status), completed=self.counts.done,
            detail=self.counts.line(),
        )

    def note(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def summary(self, results: list[TaskResult]) -> None:
        print_summary(self.console, results)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text[:200])


def print_summary(console: Console, results: list[TaskResult]) -> None:
    """A table of how each task ended, then one line of totals."""
    if not results:
        console.print("no tasks ran", highlight=False)
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("task", "agent", "status", "files", "time", "note"):
        table.add_column(column, overflow="fold")
    for result in results:
        mark, colour = _MARKS.get(result.status, ("?", "white"))
        seconds = (result.metrics.run_s + result.metrics.integration_s) if result.metrics else 0.0
        note = ellipsize(result.error.splitlines()[0], 100) if result.error else ""
        table.add_row(
            result.task_id, result.agent, f"[{colour}]{mark} {result.status.value}[/]",
            str(len(result.files_modified)),
            f"{seconds:.1f}s" if seconds or result.status == TaskStatus.COMPLETED else "—",
            _escape(note),
        )
    console.print(table)
    tally: dict[str, int] = {}
    for result in results:
        tally[result.status.value] = tally.get(result.status.value, 0) + 1
    console.print(", ".join(f"{n} {status}" for status, n in sorted(tally.items())),
                  highlight=False)
    failed = [r.task_id for r in results if r.status in (TaskStatus.FAILED, TaskStatus.CONFLICT)]
    if failed:
        console.print(f"`yui logs {failed[0]}` shows what its agent printed", highlight=False,
                      markup=False, soft_wrap=True)


def make_view(json_mode: bool, console: Console) -> View:
    """The view that fits the output: JSON lines, a live terminal view, or plain lines."""
    if json_mode:
        return JsonView()
    if console.is_terminal:
        return LiveView(console)
    return PlainView(console)
