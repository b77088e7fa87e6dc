"""Other coordinators' tasks, followed to their end in the editor.

A task started elsewhere on the repository (``yui run`` in a terminal, another editor
window) reports through that process's bus, which this server does not hear. Every
coordinator appends its messages to ``.yui/audit.jsonl``; following that file relays their
``task_update``s to the client as ``yui/taskUpdate`` — including the last one, which a
process that exits right after would otherwise take with it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import anyio
from pydantic import ValidationError

from yui_lsp.coordinator import live_coordinators
from yui_lsp.protocol import TaskUpdate

log = logging.getLogger(__name__)

#: How often the audit logs are checked for other coordinators' updates.
RELAY_POLL_S = 0.5
_MARK = b'"type":"task_update"'


class AuditFollower:
    """Reads the lines appended to one folder's audit log since the last call."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".yui" / "audit.jsonl"
        try:
            self._offset = self.path.stat().st_size
        except FileNotFoundError:
            self._offset = 0

    def updates(self, own_id: str) -> list[TaskUpdate]:
        """New task updates of coordinators other than ``own_id``."""
        own = f'"coordinator_id":"{own_id}"'.encode()  # as model_dump_json writes it
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, 2)
                if size < self._offset:
                    self._offset = 0  # rotated or replaced: read it from the start
                fh.seek(self._offset)
                data = fh.read(size - self._offset)
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        found: list[TaskUpdate] = []
        for line in complete.splitlines():
            if _MARK not in line or own in line:
                continue  # most lines are this server's own: not parsed at all
            with contextlib.suppress(ValidationError, ValueError):
                update = TaskUpdate.model_validate_json(line)
                if update.coordinator_id and update.coordinator_id != own_id:
                    found.append(update)
        return found


async def relay_others(folders: Callable[[], list[tuple[Path, str]]],
                       send: Callable[[TaskUpdate], None],
                       present: Callable[[Path, bool], None]) -> None:
    """Forever: send other coordinators' task updates of every hosted folder, and say
    whether other coordinators run on it (``present``), so that listing tasks reads their
    tables only when there are some."""
    followers: dict[Path, AuditFollower] = {}
    while True:
        for root, own_id in folders():
            others = await anyio.to_thread.run_sync(live_coordinators, root)
            present(root, any(entry.coordinator_id != own_id for entry in others))
            follower = followers.get(root)
            if follower is None:
                follower = followers[root] = await anyio.to_thread.run_sync(AuditFollower, root)
                continue
            for update in await anyio.to_thread.run_sync(follower.updates, own_id):
                send(update)
        await anyio.sleep(RELAY_POLL_S)
