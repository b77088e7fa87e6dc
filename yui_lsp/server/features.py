"""Everything the server does past the handshake, built on first use.

The coordinator host and the features hanging off it (progress, marks, notifications,
commands) import the coordinator, pydantic models and agent adapters: about as long again
as pygls itself. The server builds them when ``initialized`` arrives (or a request needs
them first), so its answer to ``initialize`` waits only for pygls.
"""

from __future__ import annotations

from pygls.lsp.server import LanguageServer

from yui_lsp.server.commands import Commands
from yui_lsp.server.host import CoordinatorHost
from yui_lsp.server.marks import WorkspaceMarks
from yui_lsp.server.notifications import Notifications
from yui_lsp.server.progress import TaskProgress
from yui_lsp.server.settings import FolderSettings


class Features:
    """The coordinator host of one connection and every feature wired to it."""

    def __init__(self, server: LanguageServer, folder_settings: FolderSettings) -> None:
        self.host = CoordinatorHost(server, folder_settings)
        self.task_progress = TaskProgress(server, self.host)
        self.marks = WorkspaceMarks(server, self.host)
        self.notifications = Notifications(server)
        self.host.features.extend([self.notifications, self.task_progress, self.marks])
        self.commands = Commands(server, self.host, self.marks)
        self.host.features.append(self.commands.specs)
