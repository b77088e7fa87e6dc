"""Review mode: a merged result waits in state ``review`` for the user, file by file.

The applier hands each result to :meth:`ReviewDesk.review`, which holds it until every
file is applied or discarded (``yui.applyResult`` / ``yui.discardResult``, all files or
some). Applying sends just those files through the applier's usual stale-checked edit; a
file the user changed meanwhile makes the whole result merge again (the files already
applied then merge to nothing, the discarded ones stay discarded) and wait again, unless
the user had approved all of it. Discarding everything, with nothing applied, cancels the
task: a result the user refused must not let its dependents start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from yui_lsp.errors import ApplyError
from yui_lsp.protocol import Task
from yui_lsp.server.params import ResultDecision, ResultReadyNotification
from yui_lsp.workspace import Integration, MergedFile, StaleContentError

Send = Callable[[Integration], Awaitable[list[str]]]
Announce = Callable[[ResultReadyNotification], None]
#: Told when a task starts (True) or stops (False) waiting for the user.
OnReview = Callable[[str, bool], None]
Cancel = Callable[[str], Awaitable[object]]


@dataclass
class Decision:
    """One apply or discard asked for by the user, and its answer once carried out."""

    apply: bool
    files: set[str] | None
    done: anyio.Event = field(default_factory=anyio.Event)
    answer: ResultDecision | None = None

    def reply(self, answer: ResultDecision) -> None:
        self.answer = answer
        self.done.set()


@dataclass
class HeldResult:
    """A merged result waiting for the user's decisions."""

    task: Task
    files: list[MergedFile]
    inbox: list[Decision] = field(default_factory=list)
    wake: anyio.Event = field(default_factory=anyio.Event)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


class ReviewDesk:
    """Results held for review, by task id."""

    def __init__(self) -> None:
        self.held: dict[str, HeldResult] = {}
        self._approved: set[str] = set()
        self._discarded: dict[str, set[str]] = {}
        self._applied: dict[str, list[str]] = {}

    async def review(self, task: Task, integration: Integration, send: Send,
                     announce: Announce, on_review: OnReview, cancel: Cancel) -> list[str]:
        """Land the files the user approves; returns every path written for the task."""
        if task.id in self._approved:
            return self._landed(task.id, await send(integration))
        dropped = self._discarded.get(task.id, set())
        entry = HeldResult(task=task, files=[f for f in integration.files
                                              if f.path not in dropped])
        if not entry.files:
            return self._landed(task.id, [])
        self.held[task.id] = entry
        on_review(task.id, True)
        announce(ResultReadyNotification(task_id=task.id, title=task.display_title,
                                         paths=entry.paths))
        try:
            while entry.files:
                await entry.wake.wait()
                entry.wake = anyio.Event()
                while entry.inbox and entry.files:
                    decision = entry.inbox.pop(0)
                    try:
                        await self._carry_out(entry, decision, send)
                    finally:
                        if not decision.done.is_set():
                            decision.reply(ResultDecision(
                                ok=False, message="the task ended before this was done"))
        finally:
            self.held.pop(task.id, None)
            for late in entry.inbox:
                late.reply(ResultDecision(ok=False, message="the result is no longer waiting"))
        applied = self._applied.get(task.id, [])
        if not applied:
            # All of it discarded: the task ends cancelled (this raises at the next await).
            self._landed(task.id, [])
            await cancel(task.id)
            await anyio.sleep_forever()
        on_review(task.id, False)
        return self._landed(task.id, [])

    def _landed(self, task_id: str, written: list[str]) -> list[str]:
        self._approved.discard(task_id)
        self._discarded.pop(task_id, None)
        return [*self._applied.pop(task_id, []), *written]

    async def _carry_out(self, entry: HeldResult, decision: Decision, send: Send) -> None:
        task_id = entry.task.id
        waiting = set(entry.paths)
        chosen = waiting if decision.files is None else decision.files & waiting
        unknown = sorted((decision.files or set()) - waiting)
        if not chosen:
            decision.reply(ResultDecision(
                ok=False, remaining=entry.paths,
                message=f"not waiting in this result: {', '.join(unknown)}"))
            return
        picked = [f for f in entry.files if f.path in chosen]
        if not decision.apply:
            self._discarded.setdefault(task_id, set()).update(chosen)
            entry.files = [f for f in entry.files if f.path not in chosen]
            decision.reply(_answer(f"discarded {len(picked)} file(s)", discarded=sorted(chosen),
                                   remaining=entry.paths, unknown=unknown))
            return
        whole = chosen == waiting
        try:
            written = await send(Integration(task_id=task_id, files=picked))
        except StaleContentError as exc:
            if whole:
                self._approved.add(task_id)
            again = "it is applied once merged again" if whole else \
                "it was merged again and waits for review again"
            decision.reply(ResultDecision(
                ok=whole, remaining=entry.paths,
                message=f"{exc.path} changed since the result was merged; {again}"))
            raise
        except ApplyError as exc:
            decision.reply(ResultDecision(ok=False, message=str(exc), remaining=entry.paths))
            return
        self._applied.setdefault(task_id, []).extend(written)
        entry.files = [f for f in entry.files if f.path not in chosen]
        decision.reply(_answer(f"applied {len(written)} file(s)", applied=written,
                               remaining=entry.paths, unknown=unknown))

    async def decide(self, task_id: str, apply: bool, files: set[str] | None) -> ResultDecision:
        """Carry out one decision on a held result and say what was done."""
        entry = self.held.get(task_id)
        if entry is None:
            return ResultDecision(ok=False, message="no result of this task is waiting")
        decision = Decision(apply=apply, files=files)
        entry.inbox.append(decision)
        entry.wake.set()
        await decision.done.wait()
        assert decision.answer is not None
        return decision.answer


def _answer(what: str, *, applied: list[str] | None = None, discarded: list[str] | None = None,
            remaining: list[str], unknown: list[str]) -> ResultDecision:
    message = what + (f"; {len(remaining)} still waiting" if remaining else "")
    if unknown:
        message += f"; not waiting: {', '.join(unknown)}"
    return ResultDecision(ok=True, message=message, applied=applied or [],
                          discarded=discarded or [], remaining=remaining)


__all__ = ["Decision", "HeldResult", "ReviewDesk"]
