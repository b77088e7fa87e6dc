"""Work-done progress: one token per task, begin → report → end; cancel cancels the task.

Each task of this server's coordinators gets a follower task (in the host's task group)
once it starts working (acquiring its leases): the follower creates the token, then turns
the task's updates and its agent's output lines into reports. Tasks still waiting
(pending, blocked, queued) have no progress: five hundred queued tasks would otherwise be
five hundred progress bars, token requests and idle followers.

Bursts of output are coalesced: each follower holds one state (not a queue) that every
message updates, and sends the latest of it when it reports, so a chatty agent cannot flood
the editor or grow the server's memory, and a single line still reaches it at once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import anyio
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.protocol import AgentOutput, Message, TaskStatus, TaskUpdate
from yui_lsp.server.host import CoordinatorHost, Folder

log = logging.getLogger(__name__)

#: Longest wait for the client to accept a progress token.
CREATE_TIMEOUT_S = 10.0
#: Longest activity line shown in the editor's progress.
ACTIVITY_MAX = 200
#: Statuses of a task that is not doing anything yet: no progress is shown for them.
WAITING = frozenset({TaskStatus.PENDING, TaskStatus.BLOCKED, TaskStatus.QUEUED})


@dataclass
class ProgressState:
    """What the editor should show for one task."""

    percentage: int = 0
    activity: str = ""
    update: TaskUpdate | None = None


class _Mailbox:
    """One task's latest progress state and a wake-up for its follower (bounded: one state)."""

    def __init__(self) -> None:
        self.state = ProgressState()
        self._fresh = anyio.Event()

    def put(self, message: Message) -> None:
        _absorb(self.state, message)
        self._fresh.set()

    async def take(self) -> ProgressState:
        """Wait for something new, then the state as it is now."""
        await self._fresh.wait()
        self._fresh = anyio.Event()
        return self.state


class TaskProgress:
    """The progress feature: followers by task id, tokens by progress token."""

    def __init__(self, server: LanguageServer, host: CoordinatorHost) -> None:
        self._server = server
        self._host = host
        self._followers: dict[str, _Mailbox] = {}
        self.tokens: dict[str, tuple[Folder, str]] = {}

    def _supported(self) -> bool:
        window = self._server.client_capabilities.window
        return bool(window is not None and window.work_done_progress)

    def on_locks(self, folder: Folder) -> None:
        """Leases are shown by the diagnostics feature, not here."""

    def on_message(self, folder: Folder, message: Message) -> None:
        if not isinstance(message, TaskUpdate | AgentOutput):
            return
        mailbox = self._followers.get(message.task_id)
        if mailbox is None:
            if (not isinstance(message, TaskUpdate) or message.status.terminal
                    or message.status in WAITING):
                return
            if not self._supported():
                return
            mailbox = self._followers[message.task_id] = _Mailbox()
            self._host.task_group.start_soon(self._follow, folder, message, mailbox)
        mailbox.put(message)

    async def _follow(self, folder: Folder, first: TaskUpdate, updates: _Mailbox) -> None:
        task_id = first.task_id
        token = f"yui/{task_id}/{uuid.uuid4().hex[:8]}"
        progress = self._server.work_done_progress
        created = False
        try:
            with anyio.move_on_after(CREATE_TIMEOUT_S):
                await progress.create_async(token)
                created = True
            if not created:
                log.warning("client did not accept progress token for %s", task_id)
                return
            self.tokens[token] = (folder, task_id)
            progress.begin(token, lsp.WorkDoneProgressBegin(
                title=f"yui: {first.title or task_id}", cancellable=True,
                message=first.agent or first.agent_id, percentage=0))
            await self._report_until_end(token, updates)
        finally:
            self.tokens.pop(token, None)
            progress.tokens.pop(token, None)
            if self._followers.get(task_id) is updates:
                del self._followers[task_id]

    async def _report_until_end(self, token: str, updates: _Mailbox) -> None:
        progress = self._server.work_done_progress
        while True:
            state = await updates.take()
            update = state.update
            if update is not None and update.status.terminal:
                outcome = update.status.value
                detail = update.error or update.message
                progress.end(token, lsp.WorkDoneProgressEnd(
                    message=f"{outcome}: {detail}" if detail else outcome))
                return
            progress.report(token, lsp.WorkDoneProgressReport(
                percentage=state.percentage, message=state.activity, cancellable=True))

    async def cancel(self, token: str) -> bool:
        """The client cancelled a progress: cancel its task. False for unknown tokens."""
        entry = self.tokens.get(str(token))
        if entry is None:
            return False
        folder, task_id = entry
        return await folder.manager.cancel(task_id)


def _absorb(state: ProgressState, message: Message) -> None:
    if isinstance(message, TaskUpdate):
        state.update = message
        state.percentage = max(state.percentage, min(100, round(message.progress * 100)))
        if message.message:
            state.activity = f"{message.status.value}: {message.message}"[:ACTIVITY_MAX]
        else:
            state.activity = message.status.value
    elif isinstance(message, AgentOutput) and message.line.strip():
        state.activity = message.line.strip()[:ACTIVITY_MAX]
