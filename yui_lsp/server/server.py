"""The yui language server: a pygls server wiring the features to the coordinators.

Lifecycle: ``initialize`` records the options and is answered as soon as pygls is loaded;
``initialized`` builds the features (:mod:`yui_lsp.server.features`: the coordinator host and
what hangs off it) and runs the host for the whole connection (the handler itself is the
long-lived task that owns every coordinator); ``shutdown`` stops it and waits until every
task is cancelled and every lease released.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp import __version__
from yui_lsp.server.command_names import COMMAND_NAMES
from yui_lsp.server.settings import FolderSettings, overrides_from
from yui_lsp.server.uris import path_of
from yui_lsp.server.wire import YuiProtocol, converter

if TYPE_CHECKING:
    from yui_lsp.server.features import Features

log = logging.getLogger(__name__)


class YuiLanguageServer(LanguageServer):
    """pygls server hosting one coordinator per workspace folder."""

    def __init__(self) -> None:
        super().__init__("yui-lsp", __version__,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         converter_factory=converter, protocol_cls=YuiProtocol)
        self.folder_settings = FolderSettings(self)
        self._features: Features | None = None

    @property
    def features(self) -> Features:
        """The coordinator host and its features, built on first use (see features.py)."""
        if self._features is None:
            from yui_lsp.server.features import Features

            self._features = Features(self, self.folder_settings)
        return self._features

    async def stop_coordinators(self) -> None:
        """Stop the coordinators, if they were ever started (not loading them to do so)."""
        if self._features is not None:
            await self._features.host.stop()

    def workspace_folders(self) -> list[tuple[str, Path]]:
        """(uri, root) of every workspace folder the client opened (or its root URI)."""
        found: list[tuple[str, Path]] = []
        for folder in self.workspace.folders.values():
            path = path_of(folder.uri)
            if path is not None:
                found.append((folder.uri, path.resolve()))
        if not found and self.workspace.root_uri:
            path = path_of(self.workspace.root_uri)
            if path is not None:
                found.append((self.workspace.root_uri, path.resolve()))
        return found


def create_server() -> YuiLanguageServer:
    """A fresh server with every feature registered."""
    server = YuiLanguageServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: YuiLanguageServer, params: lsp.InitializeParams) -> None:
        ls.folder_settings.initialization_options = overrides_from(
            params.initialization_options)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: YuiLanguageServer, params: lsp.InitializedParams) -> None:
        # Modules, models and schemas loaded so far live as long as the process: keep the
        # garbage collector's full passes (which pause every answer) off them.
        gc.freeze()
        # This handler is the connection's long-lived task: it returns at shutdown.
        try:
            await ls.features.host.run(ls.workspace_folders())
        except Exception as exc:
            log.exception("the coordinators stopped")
            ls.window_show_message(lsp.ShowMessageParams(
                type=lsp.MessageType.Error, message=f"yui: coordinators stopped: {exc}"))

    for name in COMMAND_NAMES:
        _route_command(server, name)

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: YuiLanguageServer, params: Any) -> None:
        await ls.stop_coordinators()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(ls: YuiLanguageServer,
                              params: lsp.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            ls.features.host.remove_folder(removed.uri)
        for added in params.event.added:
            path = path_of(added.uri)
            if path is not None:
                await ls.features.host.add_folder(added.uri, path.resolve())

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(ls: YuiLanguageServer,
                                    params: lsp.DidChangeConfigurationParams) -> None:
        # Apply mode and worker limit change live; agent profiles need a restart.
        for folder in list(ls.features.host.folders.values()):
            settings = await ls.folder_settings(folder.uri, folder.root)
            folder.options.apply_mode = settings.apply_mode
            folder.options.save_after_apply = settings.save_after_apply
            folder.manager.max_workers = settings.max_workers
            # Tells the user (in the editor's log) that the change took effect.
            ls.window_log_message(lsp.LogMessageParams(
                type=lsp.MessageType.Info,
                message=f"yui: {folder.root.name}: now up to {settings.max_workers} tasks "
                        f"at once, results applied {settings.apply_mode}"))

    @server.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    async def progress_cancelled(ls: YuiLanguageServer,
                                 params: lsp.WorkDoneProgressCancelParams) -> None:
        await ls.features.task_progress.cancel(str(params.token))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: YuiLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.features.marks.document_opened(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: YuiLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.features.marks.refresh()

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
        code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(ls: YuiLanguageServer,
                    params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return ls.features.marks.code_actions(params)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: YuiLanguageServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        return ls.features.marks.code_lenses(params.text_document.uri) + \
            ls.features.commands.specs.code_lenses(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: YuiLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        return ls.features.commands.specs.hover(params)

    return server


def _route_command(server: YuiLanguageServer, name: str) -> None:
    """Register ``name``; its handler (and the modules behind it) load on first use."""
    async def run(ls: YuiLanguageServer, *args: Any) -> Any:
        return await ls.features.commands.run(name, args)

    run.__name__ = name.replace(".", "_")
    server.command(name)(run)
