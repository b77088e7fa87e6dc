"""Keeping workspace paths inside the workspace.

A workspace-relative path is cleaned (:func:`normalise_rel`) and resolved under its root by
:func:`resolve_inside`, which refuses absolute paths, ``..`` escapes and any symlink along
the way that leads out of the root. A pass over many paths that writes nothing may check
each folder once (:func:`folders_checked_once`).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from yui_lsp.errors import PathOutsideWorkspaceError


def normalise_rel(rel: str, *, backslash_is_separator: bool = True) -> str:
    """``rel`` as a clean relative POSIX path, or raise if it is absolute or escapes.

    Claims written by people may use ``\\`` as a separator; a path from a change set may
    not (``a\\b.txt`` is one file name there).
    """
    posix = rel.replace("\\", "/") if backslash_is_separator else rel
    drive = backslash_is_separator and len(posix) > 1 and posix[1] == ":"
    if not posix or posix.startswith("/") or drive:
        raise PathOutsideWorkspaceError(rel)
    clean = posixpath.normpath(posix)
    if clean == ".." or clean.startswith("../") or "\x00" in clean:
        raise PathOutsideWorkspaceError(rel)
    return clean


def _inside(real_root: str, real_path: str) -> bool:
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


#: Per pass (see :func:`folders_checked_once`): the root's real path and the folders of it
#: already checked, by root.
_CHECKED: ContextVar[dict[str, tuple[str, set[str]]] | None] = ContextVar(
    "yui_folders_checked", default=None)
_LSTAT_IGNORED = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


@contextmanager
def folders_checked_once(root: Path) -> Iterator[None]:
    """Within the block (in this thread), :func:`resolve_inside` under ``root`` checks each
    folder once rather than once per path.

    For one pass over many paths that writes nothing (a merge reading the files, an apply
    checking them before its journal): every file of a folder crosses the same folders, and
    the pass trusts them no longer than the pass lasts. The file itself is checked each time.
    """
    checked = _CHECKED.get()
    scope = dict(checked) if checked is not None else {}
    scope[os.fspath(root)] = (os.path.realpath(root), set())
    token = _CHECKED.set(scope)
    try:
        yield
    finally:
        _CHECKED.reset(token)


def _is_link(path: str) -> bool:
    """``Path.is_symlink`` without building a Path (the same errors count as "no")."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError as exc:
        if exc.errno in _LSTAT_IGNORED:
            return False
        raise
    except ValueError:
        return False


def resolve_inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing absolute paths, ``..`` escapes and symlinks leaving ``root``.

    Every existing component of the path is checked, so a symlinked folder pointing outside
    is refused as well as a symlinked file. The returned path is not resolved (a symlink
    inside the workspace stays a symlink).
    """
    clean = normalise_rel(rel, backslash_is_separator=False)
    if clean == ".":
        return Path(root)
    base = os.fspath(root)
    scope = _CHECKED.get()
    known = scope.get(base) if scope is not None else None
    real_root, checked = known if known is not None else (os.path.realpath(root), None)
    parts = clean.split("/")
    start = 0
    if checked is not None:
        # The deepest folder of the path this pass has checked already.
        for depth in range(len(parts) - 1, 0, -1):
            if "/".join(parts[:depth]) in checked:
                start = depth
                break
    for depth in range(start, len(parts)):
        current = os.path.join(base, *parts[: depth + 1])
        if _is_link(current) and not _inside(real_root, os.path.realpath(current)):
            raise PathOutsideWorkspaceError(rel, str(root))
    if checked is not None:
        checked.update("/".join(parts[:depth]) for depth in range(max(start, 1), len(parts)))
    return Path(base, clean)


def to_rel(root: Path, path: Path | str) -> str:
    """The workspace-relative POSIX form of ``path`` (absolute, or relative to ``root``)."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path(root) / candidate
    try:
        relative = Path(os.path.normpath(candidate)).relative_to(os.path.normpath(root))
    except ValueError:
        raise PathOutsideWorkspaceError(str(path), str(root)) from None
    text = relative.as_posix()
    if text.startswith("../") or text == "..":
        raise PathOutsideWorkspaceError(str(path), str(root))
    return text
