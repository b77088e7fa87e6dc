"""Three-way merge of a task's change set with what the workspace holds now.

``ours`` is the workspace now (the editor buffer when the file is open), ``theirs`` is the
agent's version, ``base`` is what the sandbox held when the agent started. Text files are
merged line by line with ``git merge-file``; anything that cannot be merged safely is a
:class:`~yui_lsp.protocol.FileConflict`, never a silent choice of one side.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from yui_lsp.protocol import ChangeKind, ChangeSet, FileChange, FileConflict, LockRecord
from yui_lsp.workspace.gitcmd import git_env
from yui_lsp.workspace.paths import ClaimSet, resolve_inside
from yui_lsp.workspace.types import Integration, MergedFile, WorkspaceReader

_MARKER = 7


@dataclass
class MergeOutcome:
    """The merged content (None = the file is deleted) or why it could not be merged."""

    content: bytes | None
    conflict: FileConflict | None = None


def as_text(data: bytes) -> str | None:
    """``data`` decoded if it is text, else None. The one rule of yui for "is this text":
    UTF-8 without NUL bytes (merged line by line, rewritten by the refactor worker)."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_text(data: bytes) -> bool:
    """UTF-8 without NUL bytes: the only content merged line by line."""
    return as_text(data) is not None


def merge3(base: bytes | None, ours: bytes | None, theirs: bytes | None, path: str) -> MergeOutcome:
    """Merge the workspace's and the agent's versions of ``path`` against their base."""
    if ours == theirs or theirs == base:
        return MergeOutcome(ours)
    if ours == base:
        return MergeOutcome(theirs)
    if ours is None:
        return _conflict(path, "deleted in the workspace but changed by the task")
    if theirs is None:
        return _conflict(path, "changed in the workspace but deleted by the task")
    texts = (base or b"", ours, theirs)
    if not all(is_text(t) for t in texts):
        return _conflict(
            path, "binary or non-UTF-8 file changed both in the workspace and by the task"
        )
    merged, conflicts = _merge_file(*texts, path=path)
    if conflicts == 0:
        return MergeOutcome(merged)
    reason = (
        "created both in the workspace and by the task with different content"
        if base is None
        else f"{conflicts} overlapping edit(s) in the workspace and by the task"
    )
    hunks, ranges = _conflict_regions(merged, ours)
    return MergeOutcome(None, FileConflict(path=path, reason=reason, hunks=hunks, ranges=ranges))


def _conflict(path: str, reason: str) -> MergeOutcome:
    return MergeOutcome(None, FileConflict(path=path, reason=reason))


def _merge_file(base: bytes, ours: bytes, theirs: bytes, *, path: str) -> tuple[bytes, int]:
    """``git merge-file -p --diff3`` on temp files: merged bytes and number of conflicts."""
    with tempfile.TemporaryDirectory(prefix="yui-merge-") as tmp:
        files = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            file = Path(tmp) / name
            file.write_bytes(data)
            files.append(str(file))
        labels = [f"{path} (workspace)", f"{path} (base)", f"{path} (task)"]
        argv = ["git", "merge-file", "-p", "--diff3", f"--marker-size={_MARKER}"]
        for label in labels:
            argv += ["-L", label]
        # Outside any repository, with yui's git environment (no system or global config).
        done = subprocess.run([*argv, *files], capture_output=True, check=False, cwd=tmp,
                              env=git_env())
    if done.returncode < 0 or done.returncode > 127:
        detail = done.stderr.decode(errors="replace")
        raise RuntimeError(f"git merge-file failed on {path}: {detail}")
    return done.stdout, done.returncode


def _conflict_regions(merged: bytes, ours: bytes) -> tuple[str, list[tuple[int, int]]]:
    """The conflict blocks (with markers) and their line ranges in ``ours``."""
    lines = merged.decode("utf-8").splitlines(keepends=True)
    hunks: list[str] = []
    resolved: list[str] = []  # the merge with every conflict resolved as "ours"
    spans: list[tuple[int, int]] = []  # where each conflict's ours-part sits in resolved
    i = 0
    while i < len(lines):
        if not lines[i].startswith("<" * _MARKER + " "):
            resolved.append(lines[i])
            i += 1
            continue
        start = i
        ours_part: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(("|" * _MARKER, "=" * _MARKER)):
            ours_part.append(lines[i])
            i += 1
        while i < len(lines) and not lines[i].startswith(">" * _MARKER):
            i += 1
        i += 1
        hunks.append("".join(lines[start:i]))
        spans.append((len(resolved), len(resolved) + len(ours_part)))
        resolved.extend(ours_part)
    ours_lines = ours.decode("utf-8").splitlines(keepends=True)
    opcodes = difflib.SequenceMatcher(None, resolved, ours_lines, autojunk=False).get_opcodes()

    def to_ours(index: int) -> int:
        for tag, i1, i2, j1, _j2 in opcodes:
            if i1 <= index < i2 or (index == i2 == len(resolved)):
                return j1 + (index - i1) if tag == "equal" else j1
        return len(ours_lines)

    ranges = []
    for s, e in spans:
        first = to_ours(s)
        # A side that deleted lines has an empty part; point at the line where they were.
        last = max(first + (e - s), min(first + 1, max(len(ours_lines), 1)))
        ranges.append((first, last))
    return "".join(hunks), ranges


# --------------------------------------------------------------------------- integration


class ChangeSource(Protocol):
    """What integration needs from a sandbox: its base and its current content."""

    def base_bytes(self, rel: str) -> bytes | None: ...

    def read(self, rel: str) -> bytes | None: ...


class DiskReader:
    """A :class:`WorkspaceReader` reading the files on disk (headless runs, the CLI)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def read(self, rel_path: str) -> bytes | None:
        """The file's bytes (a symlink's target text), or None if there is no such file."""
        return read_held(resolve_inside(self.root, rel_path))[0]


def read_held(target: Path) -> tuple[bytes | None, int | None]:
    """What ``target`` holds (a file's bytes, a symlink's text; None for nothing or a folder)
    and its ``lstat`` mode (None: nothing there).

    One open that refuses a symlink (``O_NOFOLLOW``) rather than an lstat before it: the
    descriptor's own stat is the entry's.
    """
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        mode = os.lstat(target).st_mode  # ELOOP again if a folder on the way loops
        if stat.S_ISLNK(mode):
            return os.fsencode(os.readlink(target)), mode
        return read_held(target)  # a link replaced by a file meanwhile: read that
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return None, st.st_mode
        chunks = [os.read(fd, st.st_size + 1)]  # one read, and one to see the end
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks), st.st_mode
    finally:
        os.close(fd)


def integrate(
    changeset: ChangeSet,
    sandbox: ChangeSource,
    current: WorkspaceReader,
    claims: list[str],
    lease_holder: Callable[[str], LockRecord | None],
) -> Integration:
    """Merge every change of ``changeset`` with the workspace now.

    A change outside ``claims`` is taken when nobody holds a lease on it, and is a conflict
    when another task does.
    """
    result = Integration(task_id=changeset.task_id)
    claimed = ClaimSet(claims)
    for change in changeset.changes:
        blocked = _leased_elsewhere(change, claimed, lease_holder)
        if blocked is not None:
            result.conflicts.append(blocked)
            continue
        merged = _merge_change(change, sandbox, current)
        if isinstance(merged, FileConflict):
            result.conflicts.append(merged)
        elif merged is not None:
            result.files.append(merged)
    return result


def _leased_elsewhere(
    change: FileChange, claimed: ClaimSet, lease_holder: Callable[[str], LockRecord | None]
) -> FileConflict | None:
    for path in filter(None, (change.path, change.old_path)):
        if claimed.covers(path):
            continue
        holder = lease_holder(path)
        if holder is not None:
            title = f" ({holder.task_title})" if holder.task_title else ""
            return FileConflict(
                path=path,
                reason=f"outside the task's claims and leased by task {holder.locked_by}{title}",
            )
    return None


def _merge_change(
    change: FileChange, sandbox: ChangeSource, current: WorkspaceReader
) -> MergedFile | FileConflict | None:
    renamed = change.kind is ChangeKind.RENAME and change.old_path is not None
    source = change.old_path if renamed and change.old_path else change.path
    base = sandbox.base_bytes(source)
    theirs = None if change.kind is ChangeKind.DELETE else sandbox.read(change.path)
    ours = current.read(source)
    if change.kind is ChangeKind.RENAME:
        if ours is None:
            return FileConflict(
                path=source, reason="renamed by the task but deleted in the workspace"
            )
        if current.read(change.path) is not None:
            return FileConflict(
                path=change.path, reason="the task renamed a file onto a path the workspace now has"
            )
    outcome = merge3(base, ours, theirs, change.path)
    if outcome.conflict is not None:
        return outcome.conflict.with_sides(base, theirs)
    content = outcome.content
    if change.kind is ChangeKind.RENAME:
        return MergedFile(
            path=change.path, kind=ChangeKind.RENAME, content=content, expected=ours,
            old_path=source, mode=change.mode, binary=change.binary,
        )
    if content == ours and change.mode is None:
        return None  # the workspace already holds the result
    if content is None:
        kind = ChangeKind.DELETE
    else:
        kind = ChangeKind.CREATE if ours is None else ChangeKind.MODIFY
    return MergedFile(
        path=change.path, kind=kind, content=content, expected=ours, mode=change.mode,
        binary=change.binary,
    )
