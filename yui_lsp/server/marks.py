"""Leases and conflicts shown in the editor: diagnostics, code actions and code lenses.

Every open document under a lease (held by this server's tasks or by any other process on
the repository) carries an Information diagnostic on its first line, cleared as soon as the
lease ends. A task that ended in conflict marks the conflicting line ranges with Warnings
that offer the conflict choices (re-run, resolve in editor, keep mine, take the task's)
and "Show diff".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.protocol import FileConflict, LockRecord, Message, TaskConflict, TaskUpdate
from yui_lsp.server.host import CoordinatorHost, Folder

SOURCE = "yui"
KIND_LEASE = "lease"
KIND_CONFLICT = "conflict"


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def lease_message(lock: LockRecord) -> str:
    """The sentence a leased document shows."""
    name = lock.task_title or lock.locked_by
    agent = f" ({lock.agent})" if lock.agent else ""
    return (f"Being edited by task '{name}'{agent} since {_clock(lock.acquired_at)}; "
            f"leased until {_clock(lock.expires_at)}")


@dataclass
class ConflictMark:
    """A task that ended in conflict, and where."""

    folder: Folder
    task_id: str
    title: str
    conflicts: list[FileConflict]


class WorkspaceMarks:
    """The diagnostics feature, plus the code actions and lenses built on it."""

    def __init__(self, server: LanguageServer, host: CoordinatorHost) -> None:
        self._server = server
        self._host = host
        self.conflicts: dict[str, ConflictMark] = {}
        self._published: dict[str, list[lsp.Diagnostic]] = {}
        #: More diagnostics per (folder, path, uri), published with these (spec task states).
        self.extra: list[Callable[[Folder, str, str], list[lsp.Diagnostic]]] = []

    # ----------------------------------------------------------------- feed

    def on_locks(self, folder: Folder) -> None:
        self.refresh()
        self._refresh_lenses()

    def on_message(self, folder: Folder, message: Message) -> None:
        if isinstance(message, TaskConflict) and not message.will_retry:
            title = message.task_id
            for info in folder.manager.tasks():
                if info.task.id == message.task_id:
                    title = info.task.display_title
            self.conflicts[message.task_id] = ConflictMark(
                folder, message.task_id, title, list(message.conflicts))
            self.refresh()
        elif (isinstance(message, TaskUpdate) and message.task_id in self.conflicts
              and not message.status.terminal):
            self.discard(message.task_id)  # re-running: the old conflict no longer holds

    def discard(self, task_id: str) -> bool:
        """Forget a task's conflict marks; False if it had none."""
        if self.conflicts.pop(task_id, None) is None:
            return False
        self.refresh()
        return True

    # ----------------------------------------------------------------- publish

    def refresh(self, only_uri: str | None = None) -> None:
        """Publish the diagnostics of every open document whose marks changed."""
        wanted: dict[str, list[lsp.Diagnostic]] = {}
        for folder in list(self._host.folders.values()):
            for rel, uri in folder.documents.open_paths().items():
                wanted[uri] = self._diagnostics(folder, rel, uri)
        for uri in set(self._published) - set(wanted):
            wanted[uri] = []  # closed or folder gone: clear what we showed
        for uri, diagnostics in wanted.items():
            if only_uri is not None and uri != only_uri:
                continue
            if self._published.get(uri, []) == diagnostics and uri in self._published:
                continue
            self._server.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
            if diagnostics:
                self._published[uri] = diagnostics
            else:
                self._published.pop(uri, None)

    def document_opened(self, uri: str) -> None:
        self._published.pop(uri, None)
        self.refresh(only_uri=uri)

    def _diagnostics(self, folder: Folder, rel: str, uri: str) -> list[lsp.Diagnostic]:
        found: list[lsp.Diagnostic] = []
        first_line = _first_line_width(self._server, uri)
        for lock in folder.leases.covering(rel):
            found.append(lsp.Diagnostic(
                range=lsp.Range(start=lsp.Position(line=0, character=0),
                                end=lsp.Position(line=0, character=first_line)),
                message=lease_message(lock), severity=lsp.DiagnosticSeverity.Information,
                source=SOURCE, code=KIND_LEASE,
                data={"kind": KIND_LEASE, "taskId": lock.locked_by},
            ))
        for mark in self.conflicts.values():
            if mark.folder is not folder:
                continue
            for conflict in mark.conflicts:
                if conflict.path != rel:
                    continue
                ranges = conflict.ranges or [(0, 1)]
                for start, end in ranges:
                    found.append(lsp.Diagnostic(
                        range=lsp.Range(start=lsp.Position(line=start, character=0),
                                        end=lsp.Position(line=max(end, start + 1), character=0)),
                        message=f"Conflict from task '{mark.title}': {conflict.reason}",
                        severity=lsp.DiagnosticSeverity.Warning, source=SOURCE,
                        code=KIND_CONFLICT,
                        data={"kind": KIND_CONFLICT, "taskId": mark.task_id, "path": rel},
                    ))
        for provider in self.extra:
            found += provider(folder, rel, uri)
        return found

    # ----------------------------------------------------------------- actions and lenses

    def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        actions: list[lsp.CodeAction] = []
        for diagnostic in params.context.diagnostics:
            data = _data_of(diagnostic.data)
            if diagnostic.source != SOURCE or not data.get("taskId"):
                continue
            task_id = str(data["taskId"])
            if data.get("kind") == KIND_CONFLICT:
                path = data.get("path")
                files = {"files": [path]} if path else {}
                actions += [
                    _action("Re-run on my current text", "yui.resolveConflict",
                            {"taskId": task_id, "choice": "rerun"}, diagnostic, preferred=True),
                    _action("Resolve in editor (conflict markers)", "yui.resolveConflict",
                            {"taskId": task_id, "choice": "editor", **files}, diagnostic),
                    _action("Keep mine", "yui.resolveConflict",
                            {"taskId": task_id, "choice": "mine", **files}, diagnostic),
                    _action("Take the task's", "yui.resolveConflict",
                            {"taskId": task_id, "choice": "theirs", **files}, diagnostic),
                    _action("Show diff", "yui.showDiff", {"taskId": task_id, "path": path},
                            diagnostic),
                ]
            elif data.get("kind") == KIND_LEASE:
                title = self._lease_title(task_id)
                actions.append(_action(f"Cancel task '{title}'", "yui.cancelTask",
                                       {"taskId": task_id}, diagnostic))
        return actions

    def _lease_title(self, task_id: str) -> str:
        for folder in self._host.folders.values():
            title = folder.leases.title(task_id)
            if title:
                return title
        return task_id

    def code_lenses(self, uri: str) -> list[lsp.CodeLens]:
        located = self._host.folder_of_uri(uri)
        if located is None:
            return []
        folder, rel = located
        return [
            lsp.CodeLens(
                range=lsp.Range(start=lsp.Position(line=0, character=0),
                                end=lsp.Position(line=0, character=0)),
                command=lsp.Command(title=f"Cancel task '{lock.task_title or lock.locked_by}'",
                                    command="yui.cancelTask",
                                    arguments=[{"taskId": lock.locked_by}]),
            )
            for lock in folder.leases.covering(rel)
        ]

    def refresh_lenses(self) -> None:
        """Ask the client to fetch code lenses again (when it supports that)."""
        self._refresh_lenses()

    def _refresh_lenses(self) -> None:
        workspace = self._server.client_capabilities.workspace
        lens = workspace.code_lens if workspace is not None else None
        if lens is not None and lens.refresh_support:
            self._server.protocol.send_request(lsp.WORKSPACE_CODE_LENS_REFRESH, None)


def _data_of(value: Any) -> dict[str, Any]:
    """A diagnostic's ``data`` as a dict (pygls hands JSON objects over as named tuples)."""
    if isinstance(value, dict):
        return value
    as_dict = getattr(value, "_asdict", None)
    return dict(as_dict()) if callable(as_dict) else {}


def _first_line_width(server: LanguageServer, uri: str) -> int:
    doc = server.workspace.text_documents.get(uri)
    if doc is None or not doc.lines:
        return 0
    return len(doc.lines[0].rstrip("\r\n").encode("utf-16-le")) // 2


def _action(title: str, command: str, argument: dict[str, Any],
            diagnostic: lsp.Diagnostic, preferred: bool = False) -> lsp.CodeAction:
    return lsp.CodeAction(
        title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic],
        is_preferred=preferred or None,
        command=lsp.Command(title=title, command=command, arguments=[argument]),
    )
