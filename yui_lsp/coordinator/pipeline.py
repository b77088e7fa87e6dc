"""One attempt of one task: sandbox → agent → change set → integrate → apply.

Leases are taken by the manager before the first attempt and held until the task ends, so a
conflict re-run keeps its files. Deterministic built-ins (the ``refactor`` worker) skip the
sandbox: they read the workspace as it is now, compute the new text exactly, and land it
through the same stale-checked, journaled apply — the isolation a sandbox buys an LLM agent
is pure overhead for a replacement that cannot be wrong about what it read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yui_lsp.agents import AgentRun, adapter_for, refactor_text, resolve_profile
from yui_lsp.agents.base import Emit, WriteGuard
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import AgentFailedError, LeaseError
from yui_lsp.protocol import (
    ChangeKind,
    FileConflict,
    LockRecord,
    LockType,
    Task,
    TaskStatus,
    WorkspaceEvent,
)
from yui_lsp.wording import plural
from yui_lsp.workspace import (
    Applier,
    ClaimSet,
    Integration,
    LeaseTable,
    MergedFile,
    SandboxPool,
    StaleContentError,
    WorkspaceReader,
    as_text,
    expand_claims,
    integrate,
    resolve_inside,
)

#: How often an apply is re-merged when the user keeps typing under it.
STALE_RETRIES = 5


@dataclass
class Services:
    """The workspace services one coordinator drives."""

    root: Path
    settings: Settings
    leases: LeaseTable
    sandboxes: SandboxPool
    reader: WorkspaceReader
    applier: Applier
    logs_dir: Path


@dataclass
class AttemptOutcome:
    """How one attempt ended when the agent itself succeeded."""

    files: list[str] = field(default_factory=list)
    conflicts: list[FileConflict] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    run_s: float = 0.0
    integration_s: float = 0.0


SetStatus = Callable[[TaskStatus, str], None]


def profile_for(task: Task, settings: Settings) -> AgentProfile:
    """The agent profile a task runs with (UnknownAgentError if there is none)."""
    return resolve_profile(task.agent, settings)


def is_direct(task: Task, profile: AgentProfile) -> bool:
    """True for work that is exact and needs no sandbox (the built-in refactor)."""
    return task.refactor is not None and profile.kind in ("refactor", "yui")


async def run_attempt(
    services: Services,
    task: Task,
    profile: AgentProfile,
    *,
    attempt: int,
    agent_id: str,
    emit: Emit,
    set_status: SetStatus,
) -> AttemptOutcome:
    """Run one attempt; raises AgentFailedError (and friends) when the agent fails."""
    if is_direct(task, profile):
        return await _run_direct(services, task, emit, set_status)
    adapter = adapter_for(profile)
    adapter.check_available(profile)
    sandbox = await services.sandboxes.acquire(task.id)
    emit(
        WorkspaceEvent(
            task_id=task.id,
            event="sandbox_ready",
            detail={"base": sandbox.base, "attempt": attempt},
        )
    )
    try:
        set_status(TaskStatus.RUNNING, f"{profile.kind} running")
        started = time.monotonic()
        timeout = task.timeout_s or profile.timeout_s or services.settings.default_timeout_s
        run = AgentRun(
            task=task,
            workdir=sandbox.path,
            profile=profile,
            agent_id=agent_id,
            emit=emit,
            log_path=services.logs_dir / f"{task.id}.log",
            write_guard=_write_guard(services, task),
            workspace_root=services.root,
            idle_timeout_s=profile.idle_timeout_s or services.settings.default_idle_timeout_s,
            output_line_max=services.settings.output_line_max,
            log_max_bytes=services.settings.log_max_bytes,
            attempt=attempt,
            protected=sandbox.confine_readonly,
        )
        try:
            with anyio.fail_after(timeout):
                outcome = await adapter.run(run)
        except TimeoutError:
            raise AgentFailedError(
                f"{task.agent} did not finish within {timeout:g} s (timeout_s); it was stopped"
            ) from None
        run_s = time.monotonic() - started

        set_status(TaskStatus.INTEGRATING, "merging the result")
        started = time.monotonic()
        changes = await anyio.to_thread.run_sync(sandbox.diff)
        emit(WorkspaceEvent(task_id=task.id, event="diffed", paths=changes.paths))

        def merge() -> Integration:
            return integrate(
                changes,
                sandbox,
                services.reader,
                task.claims,
                lambda p: services.leases.holder(p, exclude_task=task.id),
            )

        files, conflicts = await _land(services, task, merge, emit)
        return AttemptOutcome(
            files=files,
            conflicts=conflicts,
            metrics=outcome.metrics,
            run_s=run_s,
            integration_s=time.monotonic() - started,
        )
    finally:
        with anyio.CancelScope(shield=True):
            await services.sandboxes.release(sandbox)


async def _run_direct(
    services: Services, task: Task, emit: Emit, set_status: SetStatus
) -> AttemptOutcome:
    spec = task.refactor
    assert spec is not None
    set_status(TaskStatus.RUNNING, "replacing text")
    started = time.monotonic()
    globs = spec.files or task.claims
    paths = await anyio.to_thread.run_sync(expand_claims, services.root, globs)

    def merge() -> Integration:
        integration = Integration(task_id=task.id)
        for rel in paths:
            resolve_inside(services.root, rel)
            current = services.reader.read(rel)
            text = as_text(current) if current is not None else None
            if current is None or text is None:
                continue  # not text: a refactor never touches it
            new_text, count = refactor_text(text, spec)
            if count:
                integration.files.append(
                    MergedFile(
                        path=rel,
                        kind=ChangeKind.MODIFY,
                        content=new_text.encode("utf-8"),
                        expected=current,
                    )
                )
        return integration

    run_s = time.monotonic() - started
    set_status(TaskStatus.INTEGRATING, f"checking {plural(len(paths), 'candidate file')}")
    started = time.monotonic()
    files, conflicts = await _land(services, task, merge, emit)
    return AttemptOutcome(
        files=files, conflicts=conflicts, run_s=run_s, integration_s=time.monotonic() - started
    )


async def _land(
    services: Services, task: Task, merge: Callable[[], Integration], emit: Emit
) -> tuple[list[str], list[FileConflict]]:
    """Merge and apply, merging again while the workspace moves under us."""
    claimed = ClaimSet(task.claims)
    for _ in range(STALE_RETRIES):
        integration = await anyio.to_thread.run_sync(merge)
        if integration.conflicts:
            return [], integration.conflicts
        outside = [f.path for f in integration.files if not claimed.covers(f.path)]
        if outside and await anyio.to_thread.run_sync(_lease_outside, services, task,
                                                      outside) is None:
            holders = await anyio.to_thread.run_sync(_holders, services, task, outside)
            return [], [
                FileConflict(path=p, reason=f"leased by task {h.locked_by!r}" if h else "leased")
                for p, h in holders.items()
                if h is not None
            ] or [FileConflict(path=outside[0], reason="leased by another task")]
        emit(WorkspaceEvent(task_id=task.id, event="merged", paths=integration.paths))
        if not integration.files:
            return [], []
        try:
            written = await services.applier.apply(task, integration)
        except StaleContentError as exc:
            emit(WorkspaceEvent(task_id=task.id, event="stale", paths=[exc.path]))
            continue
        emit(WorkspaceEvent(task_id=task.id, event="applied", paths=written))
        return written, []
    return [], [FileConflict(path="", reason="the files kept changing while applying")]


def _lease_outside(services: Services, task: Task, paths: list[str]) -> object | None:
    """Lease files a result changed outside its claims (blocking: run in a thread)."""
    return services.leases.try_acquire(
        task.id, sorted(paths), LockType.EXCLUSIVE, agent=task.agent, title=task.title)


def _holders(services: Services, task: Task, paths: list[str]) -> dict[str, LockRecord | None]:
    """Who holds each of ``paths`` (blocking: run in a thread)."""
    return services.leases.holders(paths, exclude_task=task.id)


def _write_guard(services: Services, task: Task) -> WriteGuard:
    claimed = ClaimSet(task.claims)

    async def guard(rel: str) -> None:
        await anyio.to_thread.run_sync(resolve_inside, services.root, rel)
        if claimed.covers(rel):
            return
        # A write outside the claims waits a bounded time for the lease: two tasks each
        # waiting on the other's claims must not hang forever.
        with anyio.move_on_after(30):
            await services.leases.acquire(
                task.id, [rel], LockType.EXCLUSIVE, agent=task.agent, title=task.title
            )
            return
        raise LeaseError(f"{rel} is leased by another task; write refused after 30 s")

    return guard
