"""The seam between the coordinator and the agents: what one run of an agent gets and gives.

The coordinator builds an :class:`AgentRun` for each attempt of a task and awaits
``adapter.run(run)``. The adapter runs its agent inside ``run.workdir`` (the task's sandbox),
reports what it sees through ``run.emit`` and returns an :class:`AgentOutcome`, or raises
:class:`~yui_lsp.errors.AgentFailedError` / :class:`~yui_lsp.errors.AgentUnavailableError`.
Cancellation arrives as anyio cancellation: an adapter must end its process group (SIGTERM,
then SIGKILL) before the cancellation propagates.

Time limits are not the adapter's business. :mod:`yui_lsp.agents.limits` owns them:
``limits_for`` decides a run's :class:`Limits` once (the coordinator for an attempt, the
spec planner for its run) and ``run_limited`` enforces them around ``adapter.run``: an
adapter only marks ``run.liveness`` when its agent shows a sign of life.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from yui_lsp.config import AgentProfile
from yui_lsp.protocol import Message, Task

#: Where adapters send protocol messages (progress, output lines). Never blocks.
Emit = Callable[[Message], None]

#: Asked by adapters that see writes as they happen (ACP ``fs/write_text_file``) before a
#: write to a workspace-relative path lands in the sandbox. It returns when the write may go
#: ahead (taking or waiting for a lease when the path is outside the task's claims) and raises
#: ``PathOutsideWorkspaceError`` or ``LeaseError`` when it may not.
WriteGuard = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    """The time limits of one attempt's agent run, each with the setting it came from."""

    #: Wall-clock limit in seconds; None = none.
    wall_s: float | None = None
    #: No output or file activity for this long means the agent hung.
    idle_s: float = 300.0
    #: The setting to raise for a longer wall clock, as the error names it.
    wall_from: str = "the task's timeout_s"
    #: The setting to raise for a longer silence, as the error names it.
    idle_from: str = "default_idle_timeout_s in the settings"


class Reporter(Protocol):
    """A run's progress reporter, as the idle watch drives it."""

    def flush(self) -> None: ...

    def activity(self, message: str, *, step: bool = False, force: bool = False) -> None: ...


class Liveness:
    """Signs of life of one run: adapters mark it (an output line, a protocol update, a model
    stream event); the attempt's idle watch reads it and, as it ticks, has the run's progress
    reporters send the updates they held back."""

    def __init__(self) -> None:
        #: monotonic time of the last sign of life.
        self.last = time.monotonic()
        self.reporters: list[Reporter] = []
        #: Waits in progress that a limit of their own bounds (see :meth:`bounded_wait`).
        self.waits = 0

    def mark(self) -> None:
        """The agent did something just now."""
        self.last = time.monotonic()

    @contextmanager
    def bounded_wait(self) -> Iterator[None]:
        """A wait with a limit of its own (a model call, a command of Yui's worker): silence
        during it is not a hang; the wait's own limit ends it."""
        self.waits += 1
        try:
            yield
        finally:
            self.waits -= 1
            self.mark()


@dataclass
class AgentRun:
    """Everything an adapter needs for one attempt of one task."""

    task: Task
    #: The sandbox root: the agent's cwd and the only tree it may change.
    workdir: Path
    profile: AgentProfile
    #: Worker name in messages, e.g. ``kiro_worker_1``.
    agent_id: str
    emit: Emit
    #: Raw output log for ``yui logs TASK`` (appended; None = don't keep one).
    log_path: Path | None = None
    write_guard: WriteGuard | None = None
    #: The user's workspace root (for messages only; agents never write there).
    workspace_root: Path | None = None
    limits: Limits = field(default_factory=Limits)
    liveness: Liveness = field(default_factory=Liveness)
    output_line_max: int = 4000
    attempt: int = 1
    env: dict[str, str] = field(default_factory=dict)
    #: Size cap of ``log_path``; past it, lines are counted but no longer written.
    log_max_bytes: int = 5_000_000
    #: Least time between two progress ``TaskUpdate`` messages of this run.
    progress_interval_s: float = 0.5
    #: Folders the agent may read but never write, besides the workspace (the sandbox
    #: pool: yui's own git directories and other tasks' sandboxes).
    protected: tuple[Path, ...] = ()


@dataclass
class AgentOutcome:
    """What a successful run reports. Files actually changed come from the change set."""

    #: Workspace-relative paths the agent says it touched (from its own events).
    files_reported: list[str] = field(default_factory=list)
    summary: str = ""
    #: Figures for metrics: credits, cost_usd, turns, duration_s ...
    metrics: dict[str, float] = field(default_factory=dict)
    #: The agent's own failure lines in a run that still ended well (a failed file change,
    #: a tool error): shown when the task changed nothing.
    failures: list[str] = field(default_factory=list)


class AgentAdapter(Protocol):
    """One kind of agent (kiro, claude, shell ...)."""

    kind: str

    def check_available(self, profile: AgentProfile) -> None:
        """Raise AgentUnavailableError (naming the env var and install hint) if it can't run."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        """Run the agent to completion in ``run.workdir``."""
        ...
