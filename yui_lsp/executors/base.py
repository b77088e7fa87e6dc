"""The seam between the coordinator and where an attempt runs.

One call, one attempt: "run this task's agent in a sandbox holding the workspace as the user
sees it now, and give me what it changed". The coordinator opens
``executor.attempt(request)`` and, while that context is open, merges the change set and
applies it (the local executor keeps the sandbox until then; a remote one has shipped the
changed bytes back already). Every agent kind — headless CLIs, ACP agents, Yui's own worker —
runs behind this seam, so each of them can run locally or on a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from yui_lsp.agents import AgentOutcome, AgentRun, Emit, WriteGuard, adapter_for
from yui_lsp.agents.base import Limits
from yui_lsp.agents.limits import run_limited
from yui_lsp.config import AgentProfile
from yui_lsp.protocol import ChangeSet, Task


class ChangeSource(Protocol):
    """Contents behind a change set: what the sandbox held at its base and holds now."""

    def base_bytes(self, rel: str) -> bytes | None: ...

    def read(self, rel: str) -> bytes | None: ...


@dataclass
class AttemptRequest:
    """One attempt of one task, as the coordinator asks for it."""

    task: Task
    profile: AgentProfile
    attempt: int
    #: Worker name in messages, e.g. ``kiro_worker_1``.
    agent_id: str
    emit: Emit
    #: The user's workspace (agents never write there).
    workspace_root: Path
    #: Raw output log for ``yui logs TASK`` (appended).
    log_path: Path | None = None
    #: Asked before an agent that reports writes as they happen writes a file.
    write_guard: WriteGuard | None = None
    #: The agent run's time limits, decided by the coordinator (enforced by run_in_sandbox).
    limits: Limits = field(default_factory=Limits)
    output_line_max: int = 4000
    log_max_bytes: int = 5_000_000
    #: Paths the agent's confinement keeps read-only besides the workspace (set by the
    #: executor from its sandbox).
    protected: tuple[Path, ...] = ()
    #: Open editor documents with unsaved text (path → bytes): the sandbox holds these.
    documents: dict[str, bytes] = field(default_factory=dict)
    #: Extra environment of the agent's processes.
    env: dict[str, str] = field(default_factory=dict)
    #: Told once the sandbox is ready and the agent starts, with the node ("" = this machine).
    on_start: Callable[[str], None] = field(default=lambda node: None)


@dataclass
class AttemptResult:
    """What one attempt produced, for the coordinator to merge and apply."""

    changes: ChangeSet
    source: ChangeSource
    outcome: AgentOutcome
    #: Where it ran: "" for this machine, else the cluster node's name.
    node: str = ""
    #: Seconds the agent ran (without sandbox set-up and transfer).
    run_s: float = 0.0


class AttemptExecutor(Protocol):
    """Where attempts run (see :mod:`yui_lsp.executors`)."""

    #: ``local`` or ``ray``.
    name: str

    async def start(self) -> None:
        """Connect or prepare; raises a YuiError saying what to do when it cannot."""

    async def close(self) -> None:
        """End everything still running and let go of resources."""

    def attempt(self, request: AttemptRequest) -> AbstractAsyncContextManager[AttemptResult]:
        """Run the attempt; the result stays valid while the context is open.

        Raises AgentFailedError / AgentUnavailableError (and other YuiErrors) when the agent
        fails; on cancellation, every process the attempt started is ended first.
        """
        ...


async def run_in_sandbox(
    request: AttemptRequest, workdir: Path, workspace_root: Path, *, log_path: Path | None
) -> tuple[AgentOutcome, float]:
    """Run the request's agent in ``workdir`` under its time limits; (outcome, seconds).

    Shared by the local executor and the cluster worker, so an agent behaves the same
    wherever it runs.
    """
    adapter = adapter_for(request.profile)
    run = AgentRun(
        task=request.task,
        workdir=workdir,
        profile=request.profile,
        agent_id=request.agent_id,
        emit=request.emit,
        log_path=log_path,
        write_guard=request.write_guard,
        workspace_root=workspace_root,
        limits=request.limits,
        output_line_max=request.output_line_max,
        log_max_bytes=request.log_max_bytes,
        attempt=request.attempt,
        env=dict(request.env),
        protected=request.protected,
    )
    started = time.monotonic()
    outcome = await run_limited(adapter, run)
    return outcome, time.monotonic() - started
