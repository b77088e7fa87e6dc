"""Bus messages relayed to the editor as custom notifications (snake_case, as on the bus).

``yui/taskUpdate`` carries every TaskUpdate; the other message types have their own
methods so a client that only tracks tasks never mistakes an output line for a task.
"""

from __future__ import annotations

from pygls.lsp.server import LanguageServer

from yui_lsp.protocol import (
    AgentOutput,
    Message,
    TaskConflict,
    TaskMetrics,
    TaskUpdate,
    WorkspaceEvent,
)
from yui_lsp.server.host import Folder
from yui_lsp.server.wire import wire

#: Notification method of each bus message type.
METHODS: dict[type, str] = {
    TaskUpdate: "yui/taskUpdate",
    AgentOutput: "yui/agentOutput",
    TaskConflict: "yui/taskConflict",
    WorkspaceEvent: "yui/workspaceEvent",
    TaskMetrics: "yui/taskMetrics",
}
LOCKS_CHANGED = "yui/locksChanged"


class Notifications:
    """The relay feature."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server

    def on_message(self, folder: Folder, message: Message) -> None:
        method = METHODS.get(type(message))
        if method is not None:
            self._server.protocol.notify(method, wire(message))

    def on_locks(self, folder: Folder) -> None:
        if folder.locks_wire is not None:
            self._server.protocol.notify(LOCKS_CHANGED, folder.locks_wire)
