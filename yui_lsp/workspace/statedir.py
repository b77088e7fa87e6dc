"""The ``.yui/`` folder: where every coordinator on a repository keeps its shared state."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_NAME = ".yui"
_EXCLUDE_LINE = ".yui/"


def state_dir(root: Path) -> Path:
    """``root/.yui`` (created), kept out of git through ``.git/info/exclude``.

    The exclude file, unlike ``.gitignore``, is never committed, so yui leaves no trace in
    the user's history.
    """
    path = Path(root) / STATE_DIR_NAME
    path.mkdir(parents=True, exist_ok=True)
    git_dir = Path(root) / ".git"
    if git_dir.is_dir():
        _exclude_from_git(git_dir / "info" / "exclude")
    return path


def _exclude_from_git(exclude: Path) -> None:
    try:
        text = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    if present & {_EXCLUDE_LINE, "/.yui/", ".yui", "/.yui"}:
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not text or text.endswith("\n") else "\n"
    with exclude.open("a", encoding="utf-8") as fh:
        fh.write(f"{prefix}{_EXCLUDE_LINE}\n")


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX needs the folder fsynced too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file, fsync, rename, fsync folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
