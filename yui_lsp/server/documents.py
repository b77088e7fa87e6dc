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

from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument, Workspace

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.workspace import DiskReader, resolve_inside
from yui_lsp.workspace.paths import to_rel


@dataclass(frozen=True)
class OpenDocument:
    """An editor buffer: its URI, version and current text."""

    uri: str
    version: int | None
    text: str


def uri_of(root: Path, rel: str) -> str:
    """The file URI of a workspace-relative path."""
    uri = from_fs_path(str(root / rel))
    assert uri is not None
    return str(uri)


def path_of(uri: str) -> Path | None:
    """The filesystem path of a file URI (None for other schemes)."""
    fs_path = to_fs_path(uri)
    return Path(os.path.normpath(fs_path)) if fs_path else None


def rel_in(root: Path, uri: str) -> str | None:
    """The workspace-relative path of ``uri`` if it lies inside ``root``."""
    path = path_of(uri)
    if path is None:
        return None
    try:
        rel = to_rel(root, path)
    except PathOutsideWorkspaceError:
        return None
    return None if rel == "." else rel


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
