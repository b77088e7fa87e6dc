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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.errors import ApplyError
from yui_lsp.protocol import ChangeKind, Task
from yui_lsp.server.documents import EditorDocuments
from yui_lsp.server.edits import EditPlan, Target, decode, ends_with_line_break
from yui_lsp.server.params import ResultAppliedNotification, ResultReadyNotification
from yui_lsp.server.review_desk import ReviewDesk
from yui_lsp.server.uris import uri_of
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
class ApplyOptions:
    """How results land in one folder; settings that change while the server runs."""

    apply_mode: str = "auto"
    save_after_apply: str = "clean"
    folder_uri: str = ""
    #: Told when a task starts or stops waiting in review (sets its `review` state).
    on_review: Callable[[str, bool], None] = lambda task_id, waiting: None
    #: Cancels a task (everything in its result was discarded).
    cancel: Callable[[str], Awaitable[object]] | None = None


@dataclass
class _Landing:
    """What the client is about to be sent, and which documents to save afterwards."""

    plan: EditPlan
    uris: list[str] = field(default_factory=list)
    save: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    no_final_newline: list[str] = field(default_factory=list)


class EditorApplier:
    """The Applier the server hands to the coordinator of one workspace folder."""

    def __init__(
        self,
        server: LanguageServer,
        documents: EditorDocuments,
        review: ReviewDesk,
        options: ApplyOptions,
        backup_retention: int,
    ) -> None:
        self._server = server
        self._documents = documents
        self._review = review
        self._options = options
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
        if self._options.apply_mode != "review":
            return await self._send(task, integration)

        async def send(part: Integration) -> list[str]:
            return await self._send(task, part)

        return await self._review.review(task, integration, send, self._announce,
                                         self._options.on_review, self._cancel)

    async def _cancel(self, task_id: str) -> object:
        return await self._options.cancel(task_id) if self._options.cancel else None

    async def _send(self, task: Task, integration: Integration,
                    save_policy: str | None = None) -> list[str]:
        """Land ``integration`` now: the client's edit, or the journaled disk write."""
        if not self._can_apply_edits():
            return await self._journaled.apply(task, integration)
        on_disk = await anyio.to_thread.run_sync(self._read_disk, integration)
        landing = self._plan(integration, save_policy or self._options.save_after_apply,
                             on_disk)
        document_changes = self._use_document_changes(integration)
        params = lsp.ApplyWorkspaceEditParams(
            edit=landing.plan.workspace_edit(document_changes),
            label=f"yui: {task.display_title}")
        result = await self._server.workspace_apply_edit_async(params)
        if not result.applied:
            self._raise_refusal(integration, result)
        if not document_changes and landing.plan.disk_operations:
            await self._journaled.apply(
                task, Integration(task_id=task.id, files=landing.plan.disk_operations))
        self._server.protocol.notify("yui/resultApplied", wire(ResultAppliedNotification(
            task_id=task.id, title=task.display_title, folder=self._options.folder_uri,
            uris=landing.uris, save=landing.save, opened=landing.opened,
            no_final_newline=landing.no_final_newline)))
        return integration.paths

    async def land_now(self, task_id: str, title: str, files: list[MergedFile],
                       save: bool) -> list[str]:
        """Apply ``files`` for a decision taken after the task ended (a conflict's choice);
        with ``save`` false nothing is saved (conflict markers stay unsaved)."""
        task = Task(id=task_id, title=title)
        integration = Integration(task_id=task_id, files=files)
        return await self._send(task, integration, None if save else "never")

    def _announce(self, payload: ResultReadyNotification) -> None:
        self._server.protocol.notify("yui/resultReady", wire(payload))

    def _read_disk(self, integration: Integration) -> dict[str, bytes | None]:
        """What the files of ``integration`` hold on disk (blocking: a worker thread)."""
        return {s: self._disk.read(s) for s in (_source(m) for m in integration.files)}

    def _plan(self, integration: Integration, policy: str,
              on_disk: dict[str, bytes | None]) -> _Landing:
        """Check every file still holds what the merge saw, and build the edit."""
        landing = _Landing(EditPlan(encoding=self._position_encoding()))
        plan = landing.plan
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
            if merged.kind == ChangeKind.DELETE:
                continue
            landing.uris.append(target.uri)
            if not ends_with_line_break(decode(merged.content)):
                landing.no_final_newline.append(target.uri)
            if doc is None:
                landing.opened.append(target.uri)
            # An open buffer equal to the file on disk has no unsaved work of the user's.
            on_disk_now = on_disk[source] if source in on_disk else self._disk.read(source)
            clean = doc is None or current == on_disk_now
            if policy == "always" or (policy == "clean" and clean):
                landing.save.append(target.uri)
        return landing

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


__all__ = ["ApplyOptions", "EditorApplier", "ReviewDesk"]
