"""The attempts of one task: its leases, then attempts under the retry and conflict policy.

A failed attempt is retried with the policy's backoff (errors no retry can mend end it at
once); a conflict re-runs the task on the current files up to the policy's bound; the task
ends ``completed``, ``failed`` or ``conflict`` in the scheduler's core.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import anyio

from yui_lsp.coordinator.pipeline import Services, lease_event, run_attempt
from yui_lsp.coordinator.records import TaskRecord
from yui_lsp.coordinator.scheduler import RetryPolicy, Scheduler
from yui_lsp.errors import (
    AgentUnavailableError,
    PlanError,
    ProtectedPathError,
    UnknownAgentError,
    YuiError,
)
from yui_lsp.protocol import LockRecord, Message, TaskConflict, TaskOutcome, TaskStatus
from yui_lsp.wording import plural

log = logging.getLogger(__name__)

#: Errors another attempt cannot mend.
_NO_RETRY = (AgentUnavailableError, UnknownAgentError, PlanError, ProtectedPathError)


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside (nested) single-exception groups from agent task groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_task(
    rec: TaskRecord,
    services: Services,
    core: Scheduler,
    policy: RetryPolicy,
    *,
    emit: Callable[[Message], None],
    from_agent: Callable[[TaskRecord, Message], None],
    leases_changed: Callable[[], None],
) -> None:
    """Take ``rec``'s leases, then run attempts until the task ends (in ``core``)."""
    task = rec.task
    set_status = core.set_status
    if task.claims:
        set_status(rec, TaskStatus.ACQUIRING, "taking leases")

        def on_wait(holder: LockRecord) -> None:
            set_status(
                rec,
                TaskStatus.ACQUIRING,
                f"waiting for {holder.file_path} (leased by task {holder.locked_by!r})",
            )

        await services.leases.acquire(
            task.id,
            task.claims,
            task.lock_type,
            agent=task.agent,
            title=task.title,
            on_wait=on_wait,
        )
        emit(lease_event(task, list(task.claims)))
        leases_changed()
    if task.max_retries is not None:
        policy = replace(policy, max_retries=task.max_retries)
    failures = conflicts = 0
    while True:
        rec.attempts += 1
        try:
            outcome = await run_attempt(
                services,
                task,
                rec.profile,
                attempt=rec.attempts,
                agent_id=rec.agent_id,
                emit=lambda m: from_agent(rec, m),
                set_status=lambda s, msg: set_status(rec, s, msg),
                placed=lambda node: setattr(rec, "node", node),
            )
        except Exception as raised:
            exc = _unwrap(raised)
            error = str(exc) if isinstance(exc, YuiError) else f"internal error: {exc!r}"
            if not isinstance(exc, YuiError):
                log.exception("task %s failed", task.id)
            failures += 1
            delay = policy.retry_after_failure(failures, not isinstance(exc, _NO_RETRY))
            if delay is None:
                core.finish(rec, TaskStatus.FAILED, error)
                return
            set_status(
                rec,
                TaskStatus.RUNNING,
                f"{error}; retry {failures}/{policy.max_retries} in {delay:g}s",
            )
            await anyio.sleep(delay)
            continue
        rec.run_s += outcome.run_s
        rec.integration_s += outcome.integration_s
        rec.extra_metrics.update(outcome.metrics)
        if outcome.conflicts:
            conflicts += 1
            will_retry = policy.rerun_after_conflict(conflicts)
            emit(
                TaskConflict(
                    task_id=task.id,
                    conflicts=outcome.conflicts,
                    attempt=rec.attempts,
                    will_retry=will_retry,
                )
            )
            if will_retry:
                set_status(rec, TaskStatus.RUNNING, "conflict; re-running on the current files")
                continue
            rec.conflicts = outcome.conflicts
            paths = ", ".join(c.path for c in outcome.conflicts if c.path) or "files"
            core.finish(
                rec, TaskStatus.CONFLICT, f"conflict in {paths}: {outcome.conflicts[0].reason}"
            )
            return
        rec.files_modified = outcome.files
        rec.agent_errors = outcome.agent_errors
        rec.outcome = TaskOutcome.CHANGED if outcome.files else TaskOutcome.NO_CHANGES
        core.finish(rec, TaskStatus.COMPLETED,
                          f"{plural(len(outcome.files), 'file')} changed"
                          if outcome.files else "no changes")
        return

