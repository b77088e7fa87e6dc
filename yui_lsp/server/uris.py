"""File URIs of the editor and paths of the workspace, both ways (light: no models)."""

from __future__ import annotations

import os
from pathlib import Path

from pygls.uris import from_fs_path, to_fs_path

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.workspace.paths import to_rel


def uri_of(root: Path, rel: str) -> str:
    """The file URI of a workspace-relative path."""
    uri = from_fs_path(str(root / rel))
    assert uri is not None
    return str(uri)


def path_of(uri: str) -> Path | None:
    """The filesystem path of a file URI (None for other schemes, and for a URI no path
    can have: one with a NUL byte, %00)."""
    fs_path = to_fs_path(uri)
    return Path(os.path.normpath(fs_path)) if fs_path and "\0" not in fs_path else None


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
