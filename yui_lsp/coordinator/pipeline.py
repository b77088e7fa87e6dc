"""One attempt of one task: executor (sandbox → agent → change set) → integrate → apply.

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

from yui_lsp.agents import refactor_texts, resolve_profile
from yui_lsp.agents.base import Emit, WriteGuard
from yui_lsp.agents.kinds import KINDS
from yui_lsp.agents.limits import limits_for
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import LeaseError
from yui_lsp.executors import AttemptExecutor, AttemptRequest
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
    UnsavedDocuments,
    WorkspaceReader,
    as_text,
    expand_claims,
    folders_checked_once,
    integrate,
    refuse_protected,
    resolve_inside,
)
from yui_lsp.workspace.lineedits import with_line_edits

_NOT_APPLIED = "none of task {}'s result was applied (review what its agent was asked to do)"
#: How often an apply is re-merged when the user keeps typing under it.
STALE_RETRIES = 5


@dataclass
class Services:
    """The workspace services one coordinator drives."""

    root: Path
    settings: Settings
    leases: LeaseTable
    sandboxes: SandboxPool
    executor: AttemptExecutor
    reader: WorkspaceReader
    applier: Applier
    logs_dir: Path
    #: Held while a result carrying line edits (a checkbox tick) merges and applies: those
    #: files are not leased, so two ticks of one tasks.md must not land at once.
    line_edit_lock: anyio.Lock = field(default_factory=anyio.Lock)


@dataclass
class AttemptOutcome:
    """How one attempt ended when the agent itself succeeded."""

    files: list[str] = field(default_factory=list)
    conflicts: list[FileConflict] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    #: The agent's own failure lines (AgentOutcome.failures).
    agent_errors: list[str] = field(default_factory=list)
    run_s: float = 0.0
    integration_s: float = 0.0
    #: The cluster node the agent ran on ("" = this machine).
    node: str = ""


SetStatus = Callable[[TaskStatus, str], None]


def profile_for(task: Task, settings: Settings) -> AgentProfile:
    """The agent profile a task runs with (UnknownAgentError if there is none)."""
    return resolve_profile(task.agent, settings)


def is_direct(task: Task, profile: AgentProfile) -> bool:
    """True for work that is exact and needs no sandbox (the built-in refactor)."""
    return task.refactor is not None and "refactor" in KINDS[profile.kind].accepts


async def run_attempt(
    services: Services,
    task: Task,
    profile: AgentProfile,
    *,
    attempt: int,
    agent_id: str,
    emit: Emit,
    set_status: SetStatus,
    placed: Callable[[str], None] | None = None,
) -> AttemptOutcome:
    """Run one attempt; raises AgentFailedError (and friends) when the agent fails.

    Where the agent runs is the executor's business (this machine or a cluster node, told to
    ``placed``); merging and applying its change set always happen here.
    """
    if is_direct(task, profile):
        return await _run_direct(services, task, emit, set_status)

    def on_start(node: str) -> None:
        if placed is not None:
            placed(node)
        where = f" on {node}" if node else ""
        set_status(TaskStatus.RUNNING, f"{profile.kind} running{where}")

    request = AttemptRequest(
        task=task,
        profile=profile,
        attempt=attempt,
        agent_id=agent_id,
        emit=emit,
        workspace_root=services.root,
        log_path=services.logs_dir / f"{task.id}.log",
        write_guard=_write_guard(services, task, emit),
        limits=limits_for(task, profile, services.settings),
        output_line_max=services.settings.output_line_max,
        log_max_bytes=services.settings.log_max_bytes,
        on_start=on_start,
        # The editor's unsaved text is what the agent must see (and the merge base).
        documents=(services.reader.open_documents()
                   if isinstance(services.reader, UnsavedDocuments) else {}),
    )
    async with services.executor.attempt(request) as result:
        set_status(TaskStatus.INTEGRATING, "merging the result")
        started = time.monotonic()
        changes = result.changes
        emit(WorkspaceEvent(task_id=task.id, event="diffed", paths=changes.paths))
        refuse_protected([p for c in changes.changes for p in (c.path, c.old_path) if p],
                         _NOT_APPLIED.format(task.id))

        def merge() -> Integration:
            with folders_checked_once(services.root):
                return integrate(
                    changes,
                    result.source,
                    services.reader,
                    task.claims,
                    lambda p: services.leases.holder(p, exclude_task=task.id),
                )

        files, conflicts = await _land(services, task, merge, emit)
        return AttemptOutcome(
            files=files,
            conflicts=conflicts,
            metrics=result.outcome.metrics,
            agent_errors=list(result.outcome.failures),
            run_s=result.run_s,
            integration_s=time.monotonic() - started,
            node=result.node,
        )


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
        texts: dict[str, tuple[bytes, str]] = {}
        with folders_checked_once(services.root):  # a read-only pass
            for rel in paths:
                resolve_inside(services.root, rel)
                current = services.reader.read(rel)
                text = as_text(current) if current is not None else None
                if current is None or text is None:
                    continue  # not text: a refactor never touches it
                texts[rel] = (current, text)
        # One batch: a regex runs in a child process with a time budget (bounded_regex).
        changed = refactor_texts([(rel, text) for rel, (_, text) in texts.items()], spec)
        for rel, (new_text, _) in changed.items():
            integration.files.append(
                MergedFile(
                    path=rel,
                    kind=ChangeKind.MODIFY,
                    content=new_text.encode("utf-8"),
                    expected=texts[rel][0],
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
    # Line edits (a spec's checkbox tick) are merged with the current text: never leased.
    ticked = {edit.path for edit in task.extra_edits}

    def merge_all() -> Integration:
        return with_line_edits(merge(), task.extra_edits, services.reader)

    if ticked:
        async with services.line_edit_lock:
            return await _land_loop(services, task, merge_all, emit, claimed, ticked)
    return await _land_loop(services, task, merge_all, emit, claimed, ticked)


async def _land_loop(
    services: Services, task: Task, merge_all: Callable[[], Integration], emit: Emit,
    claimed: ClaimSet, ticked: set[str],
) -> tuple[list[str], list[FileConflict]]:
    leased: set[str] = set()
    for _ in range(STALE_RETRIES):
        integration = await anyio.to_thread.run_sync(merge_all)
        refuse_protected([p for f in integration.files for p in (f.path, f.old_path) if p],
                         _NOT_APPLIED.format(task.id))
        if integration.conflicts:
            return [], integration.conflicts
        outside = [f.path for f in integration.files
                   if not claimed.covers(f.path) and f.path not in ticked]
        if outside and await anyio.to_thread.run_sync(_lease_outside, services, task,
                                                      outside) is None:
            holders = await anyio.to_thread.run_sync(_holders, services, task, outside)
            return [], [
                FileConflict(path=p, reason=f"leased by task {h.locked_by!r}" if h else "leased")
                for p, h in holders.items()
                if h is not None
            ] or [FileConflict(path=outside[0], reason="leased by another task")]
        if fresh := sorted(set(outside) - leased):
            leased.update(fresh)  # a stale retry leases them again: told once
            emit(lease_event(task, fresh, lock_type=LockType.EXCLUSIVE))
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


def lease_event(task: Task, paths: list[str], event: str = "lease_acquired",
                lock_type: LockType | None = None) -> WorkspaceEvent:
    """What the audit keeps of a lease change (it does not keep whole lease tables); the
    lock type is the task's unless given (leases outside the claims are exclusive)."""
    return WorkspaceEvent(task_id=task.id, event=event, paths=paths,
                          detail={"lock_type": (lock_type or task.lock_type).value})


def _write_guard(services: Services, task: Task, emit: Emit) -> WriteGuard:
    claimed = ClaimSet(task.claims)

    async def guard(rel: str) -> None:
        await anyio.to_thread.run_sync(resolve_inside, services.root, rel)
        refuse_protected([rel], "the write was refused")
        if claimed.covers(rel):
            return
        # A write outside the claims waits a bounded time for the lease: two tasks each
        # waiting on the other's claims must not hang forever.
        with anyio.move_on_after(30):
            await services.leases.acquire(
                task.id, [rel], LockType.EXCLUSIVE, agent=task.agent, title=task.title
            )
            emit(lease_event(task, [rel], lock_type=LockType.EXCLUSIVE))
            return
        raise LeaseError(f"{rel} is leased by another task; write refused after 30 s")

    return guard
