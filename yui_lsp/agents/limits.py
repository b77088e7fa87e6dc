"""The one owner of an agent run's time limits: they are decided and enforced here.

:func:`limits_for` decides a run's :class:`~yui_lsp.agents.base.Limits` (wall clock, idle
time, and which setting set each), for a task's attempt (the coordinator) and for a spec
planner's run alike; :func:`run_limited` runs the adapter under them, wherever the run
happens (this machine or a cluster node). Adapters only run their agent and mark
``run.liveness``; the wall clock, the hang watch and the errors a user reads are here.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from yui_lsp.agents.base import AgentAdapter, AgentOutcome, AgentRun, Limits
from yui_lsp.agents.output import OutputSink
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import AgentFailedError
from yui_lsp.protocol import Task

# Directories never scanned for file activity: large, and not the agent's doing.
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "__pycache__", ".yui"})
_SCAN_LIMIT = 50_000


def newest_mtime(root: Path) -> float:
    """Newest modification time under ``root`` (bounded walk, skipping VCS/vendor dirs)."""
    newest = 0.0
    seen = 0
    stack = [root]
    while stack and seen < _SCAN_LIMIT:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            newest = max(newest, st.st_mtime)
            if entry.is_dir(follow_symlinks=False) and entry.name not in _SKIP_DIRS:
                stack.append(Path(entry.path))
    return newest


def limits_for(task: Task, profile: AgentProfile, settings: Settings) -> Limits:
    """A run's time limits, decided here only: the task's ``timeout_s``, else its agent
    profile's, else ``default_timeout_s``; the profile's ``idle_timeout_s``, else
    ``default_idle_timeout_s``. Enforced around the agent by :func:`run_limited`."""
    agent = f"of agent {task.agent!r}"
    wall: tuple[float | None, str] = (
        (task.timeout_s, "the task's timeout_s") if task.timeout_s
        else (profile.timeout_s, f"timeout_s {agent}") if profile.timeout_s
        else (settings.default_timeout_s, "default_timeout_s in the settings")
    )
    idle = ((profile.idle_timeout_s, f"idle_timeout_s {agent}") if profile.idle_timeout_s
            else (settings.default_idle_timeout_s, "default_idle_timeout_s in the settings"))
    return Limits(wall_s=wall[0], wall_from=wall[1], idle_s=idle[0], idle_from=idle[1])


class IdleWatch:
    """Liveness of a run: its signs of life (``run.liveness``) or file activity in the sandbox.

    ``watch`` cancels the given scope once the run has shown no sign of life for the idle
    limit, and sets ``hung``. Scanning the sandbox only starts after half the limit of
    silence, so a chatty agent costs nothing. Each tick also flushes the run's progress
    reporters, so the latest activity reaches the editor even when the agent goes quiet.
    """

    def __init__(self, run: AgentRun) -> None:
        self.run = run
        self.idle_s = run.limits.idle_s
        self.hung = False

    async def watch(self, scope: anyio.CancelScope) -> None:
        """Run until the idle limit passes without activity, then cancel ``scope``."""
        liveness = self.run.liveness
        tick = min(1.0, self.idle_s / 5)
        # What the sandbox held before the run is older than this: no scan to start with
        # (a whole tree walk per attempt, on every task).
        last_mtime = time.time()
        while True:
            await anyio.sleep(tick)
            for reporter in liveness.reporters:
                reporter.flush()
            if liveness.waits:
                liveness.mark()
            quiet = time.monotonic() - liveness.last
            if quiet < self.idle_s / 2:
                continue
            # Quiet for a while: is it editing files without printing?
            mtime = await anyio.to_thread.run_sync(newest_mtime, self.run.workdir)
            if mtime > last_mtime:
                last_mtime = mtime
                liveness.mark()
                for reporter in liveness.reporters:
                    reporter.activity("editing files")
            elif quiet >= self.idle_s:
                self.hung = True
                scope.cancel()
                return


async def run_limited(adapter: AgentAdapter, run: AgentRun) -> AgentOutcome:
    """``adapter.run(run)`` under ``run.limits``: stopped (its processes ended by the
    adapter's cancellation handling) and failed with one clear error when it hangs or runs
    past its wall clock."""
    limits = run.limits
    idle = IdleWatch(run)
    outcome: AgentOutcome | None = None
    failure: Exception | None = None
    with anyio.move_on_after(limits.wall_s or math.inf) as wall:
        async with anyio.create_task_group() as group:
            group.start_soon(idle.watch, group.cancel_scope)
            try:
                outcome = await adapter.run(run)
            except Exception as exc:  # raised after the group, bare (not in a group)
                failure = exc
            group.cancel_scope.cancel()
    agent = run.task.agent
    if idle.hung:
        _note(run, f"no output or file activity for {limits.idle_s:g} s; stopped")
        raise AgentFailedError(
            f"agent {agent!r} produced no output for {limits.idle_s:g} s; treated as hung "
            f"(raise {limits.idle_from} if it needs longer)"
        )
    if wall.cancelled_caught:
        _note(run, f"wall-clock limit of {limits.wall_s or 0:g} s reached; stopped")
        raise past_wall(limits, f"agent {agent!r}")
    if failure is not None:
        raise failure
    assert outcome is not None
    return outcome


def past_wall(limits: Limits, who: str) -> AgentFailedError:
    """The error of a run stopped at its wall-clock limit (naming the setting to raise)."""
    return AgentFailedError(
        f"{who} did not finish within {limits.wall_s or 0:g} s and was stopped "
        f"(raise {limits.wall_from} if it needs longer)"
    )


@asynccontextmanager
async def within_wall(limits: Limits, who: str) -> AsyncIterator[None]:
    """The body under ``limits.wall_s``: cancelled there, and :func:`past_wall` raised. For
    runs with no process to watch (a model's planner: its requests have their own timeout,
    this bounds them all together)."""
    with anyio.move_on_after(limits.wall_s or math.inf) as wall:
        yield
    if wall.cancelled_caught:
        raise past_wall(limits, who)


def _note(run: AgentRun, text: str) -> None:
    # The adapter's own log sink is closed by now: `yui logs` still says why it stopped.
    with OutputSink(run, header=False) as sink:
        sink.note(text)
