"""Edits git's stat cache cannot see, found from the nanoseconds it records but ignores.

``git status`` trusts an index entry whose file still has the recorded size, inode and
mtime/ctime **seconds** (git as commonly built, without ``USE_NSEC``, compares whole
seconds), unless the entry is "racy" (written in the index's own second or later). A
same-size rewrite stamped within the recorded second is therefore invisible to git once
the index's timestamp is in a later second than that entry: whatever put it there (an
index written or refreshed late, a clock step, a tool that sets mtimes, a file system that
stamps its own times), the change would be silently dropped from a task's change set.

The index records the full nanoseconds all the same, and the kernel changes a file's ctime
on every write (no program can set it back). So a tracked file whose lstat matches its entry
in every field git compares but differs in the nanoseconds is one git cannot judge: only
those are hashed (usually none), never the whole tree. And since such a write shares its
entry's ctime second, only entries stamped since shortly before the agent could start
writing (``since_s``) need an lstat at all: after a warm hand-out, usually none.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.workspace import safe_fs
from yui_lsp.workspace.gitcmd import git

_M32 = 0xFFFFFFFF
_STAT = struct.Struct(">10I")
_EXTENDED = 0x4000
#: Seconds before ``since_s`` still checked: room for a clock stepped back a little.
CLOCK_MARGIN_S = 10


@dataclass(frozen=True)
class IndexEntry:
    """What the index recorded of one stage-0 file."""

    path: str
    ctime: tuple[int, int]
    mtime: tuple[int, int]
    ino: int
    mode: int
    size: int
    oid: str


def read_index(
    index: Path, object_format: str = "sha1", since_s: int = 0
) -> list[IndexEntry] | None:
    """The stage-0 entries of a version 2 or 3 index whose ctime second is ``since_s`` or
    later; None for anything else (no index, version 4, a format this does not know):
    callers then rely on git alone."""
    try:
        data = index.read_bytes()
    except OSError:
        return None
    if len(data) < 12 or data[:4] != b"DIRC":
        return None
    version, count = struct.unpack_from(">II", data, 4)
    if version not in (2, 3):
        return None
    oid_len = 32 if object_format == "sha256" else 20
    entries: list[IndexEntry] = []
    pos = 12
    flags_at = 40 + oid_len
    try:
        for _ in range(count):
            (flags,) = struct.unpack_from(">H", data, pos + flags_at)
            name_at = pos + flags_at + 2 + (2 if version == 3 and flags & _EXTENDED else 0)
            length = flags & 0xFFF
            end = name_at + length if length < 0xFFF else data.index(b"\0", name_at)
            start, pos = pos, pos + ((name_at - pos + (end - name_at) + 8) & ~7)
            (ctime_s,) = struct.unpack_from(">I", data, start)
            if flags & 0x3000 or ctime_s < since_s:  # unmerged, or stamped before
                continue
            fields = _STAT.unpack_from(data, start)
            entries.append(IndexEntry(
                data[name_at:end].decode("utf-8", "surrogateescape"),
                (fields[0], fields[1]), (fields[2], fields[3]), fields[5], fields[6],
                fields[9], data[start + 40:start + flags_at].hex()))
    except (struct.error, ValueError):
        return None
    return entries


def _blind_to(entry: IndexEntry, st: os.stat_result) -> bool:
    """Git's stat check passes (whole seconds) while the nanoseconds say the file changed."""
    if not stat.S_ISREG(st.st_mode) or not stat.S_ISREG(entry.mode):
        return False
    mtime = divmod(st.st_mtime_ns, 1_000_000_000)
    ctime = divmod(st.st_ctime_ns, 1_000_000_000)
    same_seconds = (
        mtime[0] & _M32 == entry.mtime[0] and ctime[0] & _M32 == entry.ctime[0]
        and st.st_size & _M32 == entry.size and st.st_ino & _M32 == entry.ino
    )
    return same_seconds and (mtime[1] != entry.mtime[1] or ctime[1] != entry.ctime[1])


def unseen_changes(
    git_args: list[str], index: Path, work_tree: Path, listed: set[str],
    object_format: str = "sha1", since_s: float = 0.0,
) -> dict[str, tuple[int, str]]:
    """Tracked regular files (not in ``listed``, what status reported) whose content
    differs from their index entry although git's stat check calls them clean: path ->
    (mode, new blob id, written to the git directory of ``git_args``). ``since_s``: when
    the agent could start writing (wall clock); 0 checks every entry."""
    since = max(0, int(since_s) - CLOCK_MARGIN_S) if since_s else 0
    entries = read_index(index, object_format, since)
    if not entries:
        return {}
    top = os.fspath(work_tree) + os.sep
    suspects: list[IndexEntry] = []
    for entry in entries:
        if entry.path in listed:
            continue
        try:
            st = os.lstat(top + entry.path)
        except (OSError, ValueError):
            continue
        if _blind_to(entry, st) and _no_link_above(work_tree, entry.path):
            suspects.append(entry)
    if not suspects:
        return {}
    spec = "".join(f"{e.path}\n" for e in suspects).encode("utf-8", "surrogateescape")
    out = git([*git_args, "hash-object", "-w", "--stdin-paths"], cwd=work_tree,
              stdin=spec).stdout.split()
    return {e.path: (e.mode, oid.decode()) for e, oid in zip(suspects, out, strict=True)
            if oid.decode() != e.oid}


def _no_link_above(work_tree: Path, rel: str) -> bool:
    parent = os.path.dirname(rel)
    if not parent:
        return "\n" not in rel
    try:
        safe_fs.resolve_dir(work_tree, parent)
    except (OSError, PathOutsideWorkspaceError):
        return False
    return "\n" not in rel
