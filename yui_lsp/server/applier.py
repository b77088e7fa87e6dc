"""Landing a task's result in the editor: one ``workspace/applyEdit`` per task.

Choice for files that are not open in the editor: they travel in the same WorkspaceEdit
(unversioned ``TextDocumentEdit``s, create/rename/delete operations), so the client applies
the whole result as one unit, transactionally where it offers that; editors load such
files into buffers like a rename refactoring does. Before sending, the server checks every
file still holds exactly what the merge saw (the buffer for open documents, the disk for
the rest) and raises :class:`StaleContentError` otherwise, so the coordinator merges again.
Clients without ``documentChanges`` get ``changes`` (text edits of existing files) and the
server itself creates, renames and deletes files on disk through the journaled applier;
clients that cannot apply edits at all get everything written on disk that way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.errors import ApplyError
from yui_lsp.protocol import ChangeKind, Task
from yui_lsp.server.documents import EditorDocuments, uri_of
from yui_lsp.server.edits import EditPlan, Target, decode
from yui_lsp.server.params import ResultReadyNotification
from yui_lsp.server.wire import wire
from yui_lsp.workspace import (
    DiskReader,
    Integration,
    JournaledApplier,
    MergedFile,
    StaleContentError,
)

log = logging.getLogger(__name__)

#: Words clients use when they refuse an edit because a document moved on.
_STALE_WORDS = ("version", "modified", "changed", "stale", "outdated")


@dataclass
class HeldResult:
    """A merged result waiting for the user's decision (review mode)."""

    task: Task
    paths: list[str]
    decided: anyio.Event
    apply: bool = False


class ReviewDesk:
    """Results held for review, by task id, until `yui.applyResult` / `yui.discardResult`."""

    def __init__(self) -> None:
        self.held: dict[str, HeldResult] = {}
        self._approved: set[str] = set()

    async def hold(self, task: Task, integration: Integration,
                   announce: Callable[[ResultReadyNotification], None]) -> None:
        """Wait for the user's decision; returns when approved (a re-merge is not re-held)."""
        if task.id in self._approved:
            return
        entry = HeldResult(task=task, paths=integration.paths, decided=anyio.Event())
        self.held[task.id] = entry
        try:
            announce(ResultReadyNotification(task_id=task.id, title=task.display_title,
                                             paths=entry.paths))
            await entry.decided.wait()
        finally:
            self.held.pop(task.id, None)
        if not entry.apply:
            raise ApplyError(f"the result of task {task.id!r} was discarded")
        self._approved.add(task.id)

    def decide(self, task_id: str, apply: bool) -> bool:
        """Record the decision for a held result; False if nothing is held for ``task_id``."""
        entry = self.held.get(task_id)
        if entry is None:
            return False
        entry.apply = apply
        entry.decided.set()
        return True

    def landed(self, task_id: str) -> None:
        self._approved.discard(task_id)


class EditorApplier:
    """The Applier the server hands to the coordinator of one workspace folder."""

    def __init__(
        self,
        server: LanguageServer,
        documents: EditorDocuments,
        review: ReviewDesk,
        apply_mode: Callable[[], str],
        backup_retention: int,
    ) -> None:
        self._server = server
        self._documents = documents
        self._review = review
        self._apply_mode = apply_mode
        self._disk = DiskReader(documents.root)
        self._journaled = JournaledApplier(documents.root, backup_retention)

    # ----------------------------------------------------------------- capabilities

    def _edit_capabilities(self) -> lsp.WorkspaceEditClientCapabilities | None:
        workspace = self._server.client_capabilities.workspace
        return workspace.workspace_edit if workspace is not None else None

    def _can_apply_edits(self) -> bool:
        workspace = self._server.client_capabilities.workspace
        return bool(workspace is not None and workspace.apply_edit)

    def _use_document_changes(self, integration: Integration) -> bool:
        caps = self._edit_capabilities()
        if caps is None or not caps.document_changes:
            return False
        needed = {
            {ChangeKind.CREATE: lsp.ResourceOperationKind.Create,
             ChangeKind.RENAME: lsp.ResourceOperationKind.Rename,
             ChangeKind.DELETE: lsp.ResourceOperationKind.Delete}[f.kind]
            for f in integration.files if f.kind != ChangeKind.MODIFY
        }
        return needed <= set(caps.resource_operations or [])

    def _position_encoding(self) -> str:
        encoding = self._server.workspace.position_encoding
        return str(encoding) if encoding else "utf-16"

    # ----------------------------------------------------------------- apply

    async def apply(self, task: Task, integration: Integration) -> list[str]:
        """Send the result as one workspace/applyEdit; StaleContentError if files moved."""
        if self._apply_mode() == "review":
            await self._review.hold(task, integration, self._announce)
        if not self._can_apply_edits():
            written = await self._journaled.apply(task, integration)
            self._review.landed(task.id)
            return written
        on_disk = await anyio.to_thread.run_sync(self._read_closed, integration)
        plan = self._plan(integration, on_disk)
        document_changes = self._use_document_changes(integration)
        params = lsp.ApplyWorkspaceEditParams(
            edit=plan.workspace_edit(document_changes), label=f"yui: {task.display_title}"
        )
        result = await self._server.workspace_apply_edit_async(params)
        if not result.applied:
            self._raise_refusal(integration, result)
        if not document_changes and plan.disk_operations:
            await self._journaled.apply(
                task, Integration(task_id=task.id, files=plan.disk_operations))
        self._review.landed(task.id)
        return integration.paths

    def _announce(self, payload: ResultReadyNotification) -> None:
        self._server.protocol.notify("yui/resultReady", wire(payload))

    def _read_closed(self, integration: Integration) -> dict[str, bytes | None]:
        """What the files no editor buffer holds contain on disk (blocking: a worker thread)."""
        sources = [_source(m) for m in integration.files]
        return {s: self._disk.read(s) for s in sources if self._documents.find(s) is None}

    def _plan(self, integration: Integration, on_disk: dict[str, bytes | None]) -> EditPlan:
        """Check every file still holds what the merge saw, and build the edit."""
        plan = EditPlan(encoding=self._position_encoding())
        root = self._documents.root
        for merged in integration.files:
            source = _source(merged)
            doc = self._documents.find(source)
            if doc is not None:
                current: bytes | None = doc.text.encode("utf-8")
            elif source in on_disk:
                current = on_disk[source]
            else:  # opened and closed again while the others were read: read it now
                current = self._disk.read(source)
            if current != merged.expected:
                raise StaleContentError(merged.path)
            if merged.binary or not _is_utf8(merged.content):
                raise ApplyError(
                    f"{merged.path} is not UTF-8 text and cannot be applied through the "
                    "editor; run the task from the `yui` CLI instead")
            target = Target(
                uri=uri_of(root, merged.path),
                version=doc.version if doc is not None else None,
                old_uri=uri_of(root, merged.old_path) if merged.old_path else None,
            )
            plan.add(merged, target)
        return plan

    def _raise_refusal(self, integration: Integration,
                       result: lsp.ApplyWorkspaceEditResult) -> None:
        """The client refused: a moved document means merge again, else a real failure."""
        for merged in integration.files:
            doc = self._documents.find(merged.path)
            if doc is not None and doc.text.encode("utf-8") != merged.expected:
                raise StaleContentError(merged.path)
        reason = result.failure_reason or "no reason given"
        if any(word in reason.lower() for word in _STALE_WORDS):
            raise StaleContentError(integration.paths[0] if integration.paths else "")
        raise ApplyError(f"the editor refused the result: {reason}; nothing was changed")


def _source(merged: MergedFile) -> str:
    """The path whose current content a merged file replaces (the old one of a rename)."""
    return merged.old_path if merged.kind == ChangeKind.RENAME and merged.old_path \
        else merged.path


def _is_utf8(data: bytes | None) -> bool:
    try:
        decode(data)
    except UnicodeDecodeError:
        return False
    return True


__all__ = ["EditorApplier", "HeldResult", "ReviewDesk"]
