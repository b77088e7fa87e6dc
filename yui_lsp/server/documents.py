"""The editor's view of the workspace: open buffers by workspace-relative path.

The coordinator merges a task's result against what the workspace holds *now*; in the
editor that is the unsaved buffer of an open document, not the file on disk, so typing done
while an agent works is kept. :class:`EditorReader` is that view.

``read`` is called from worker threads (the merge runs off the event loop). It only reads
the workspace's document dict and each document's text, which are replaced atomically by
the event loop thread, so no lock is needed; the applier re-checks the text on the loop
thread before any edit is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pygls.workspace import TextDocument, Workspace

from yui_lsp.server.uris import path_of, rel_in
from yui_lsp.workspace import DiskReader, resolve_inside


@dataclass(frozen=True)
class OpenDocument:
    """An editor buffer: its URI, version and current text."""

    uri: str
    version: int | None
    text: str


class EditorDocuments:
    """Open documents of one workspace folder, looked up by relative path."""

    def __init__(self, workspace: Workspace, root: Path) -> None:
        self._workspace = workspace
        self.root = root

    def _documents(self) -> list[TextDocument]:
        # list() first: the loop thread may open or close a document meanwhile.
        return list(self._workspace.text_documents.values())

    def find(self, rel: str) -> OpenDocument | None:
        """The open buffer of ``rel``, if the editor has one."""
        target = Path(os.path.normpath(self.root / rel))
        for doc in self._documents():
            if path_of(doc.uri) == target:
                return OpenDocument(uri=doc.uri, version=doc.version, text=doc.source)
        return None

    def open_paths(self) -> dict[str, str]:
        """Relative path -> URI of every open document inside this folder."""
        found: dict[str, str] = {}
        for doc in self._documents():
            rel = rel_in(self.root, doc.uri)
            if rel is not None:
                found[rel] = doc.uri
        return found


class EditorReader:
    """WorkspaceReader backed by open buffers, falling back to the files on disk."""

    def __init__(self, documents: EditorDocuments) -> None:
        self._documents = documents
        self._disk = DiskReader(documents.root)

    def open_documents(self) -> dict[str, bytes]:
        """Workspace-relative path -> current text of every open document of the folder."""
        found: dict[str, bytes] = {}
        for rel in self._documents.open_paths():
            doc = self._documents.find(rel)
            if doc is not None:
                found[rel] = doc.text.encode("utf-8")
        return found

    def read(self, rel_path: str) -> bytes | None:
        resolve_inside(self._documents.root, rel_path)
        doc = self._documents.find(rel_path)
        if doc is not None:
            return doc.text.encode("utf-8")
        return self._disk.read(rel_path)
