"""Putting contents in place: temp files beside their targets, renamed over them.

Used by the journaled apply, crash recovery and undo (:mod:`journal`, :mod:`apply`). Every
function here is idempotent, so a recovery can repeat what a crash interrupted. Removals go
before additions, so a folder may become a file and a file a folder. Permissions never
grow beyond what the file on disk (or the umask) allows, and no setuid, setgid or sticky
bit is ever set, whatever a (possibly forged) journal asks for.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from yui_lsp.workspace.statedir import WriteBarrier


@dataclass
class Placement:
    """Content to put at ``target`` (None = remove it), with the permissions it gets."""

    target: Path
    content: bytes | None
    mode: int | None = None
    old_mode: int | None = None


@lru_cache(maxsize=64)
def _temp_tag(task_id: str) -> str:
    return hashlib.sha1(task_id.encode()).hexdigest()[:10]


def temp_name(target: Path, task_id: str) -> Path:
    """The temp file next to ``target`` that becomes it (derivable again after a crash)."""
    return target.with_name(f".{target.name[:180]}.yui-{_temp_tag(task_id)}.tmp")


def permissions(created: int, mode: int | None, current: int | None) -> int:
    """Permission bits of a file yui writes: never setuid, setgid or sticky.

    ``created`` is what a new file got under the umask, ``mode`` the ``st_mode`` asked for
    (None: no change), ``current`` the ``st_mode`` of the regular file the content replaces.
    A rewritten file keeps its permissions and only its executable bits follow ``mode``; a
    new one gets ``mode`` within what the umask allows.
    """
    if current is not None:
        perms = stat.S_IMODE(current) & 0o777
        if mode is None:
            return perms
        return perms | (perms & 0o444) >> 2 if mode & 0o111 else perms & ~0o111
    if mode is None:
        return created
    return stat.S_IMODE(mode) & (created | (created & 0o444) >> 2)


def _write_new(tmp: Path, data: bytes, mode: int | None, current: int | None) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o666)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        os.unlink(tmp)  # a symlink left by an interrupted earlier attempt
        fd = os.open(tmp, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        created = stat.S_IMODE(os.fstat(fd).st_mode)
        wanted = permissions(created, mode, current)
        if wanted != created:
            os.fchmod(fd, wanted)
    finally:
        os.close(fd)


def _stage(placement: Placement, task_id: str) -> Path | None:
    """Write the new content to its temp file; returns it when it is a regular file."""
    data = placement.content
    assert data is not None
    tmp = temp_name(placement.target, task_id)
    if placement.mode is not None and stat.S_ISLNK(placement.mode):
        tmp.unlink(missing_ok=True)
        os.symlink(data.decode("utf-8"), tmp)
        return None
    # The file on disk, not a recorded mode, says what permissions a rewrite keeps: a
    # journal is read back after a crash and must not be able to grant more.
    try:
        now = os.lstat(placement.target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        now = None
    _write_new(tmp, data, placement.mode, now if now is not None and stat.S_ISREG(now) else None)
    return tmp


def _blocked(target: Path) -> bool:
    """Whether a non-folder (a file the same apply removes) stands where a folder must be."""
    folder = target.parent
    while not folder.is_dir():
        if folder.is_symlink() or folder.exists():
            return True
        folder = folder.parent
    return False


def _late(additions: list[Placement]) -> list[bool]:
    """:func:`_blocked` of each addition, asked once per folder."""
    by_folder: dict[str, bool] = {}
    late = []
    for placement in additions:
        folder = os.path.dirname(placement.target)  # no Path built per file
        if folder not in by_folder:
            by_folder[folder] = _blocked(placement.target)
        late.append(by_folder[folder])
    return late


def _parents(placements: list[Placement]) -> set[Path]:
    """The folders of ``placements``' targets (each folder's Path built once)."""
    one_each = {os.path.dirname(p.target): p.target for p in placements}
    return {target.parent for target in one_each.values()}


def _make_folders(placements: list[Placement]) -> set[Path]:
    """Create the missing folders of new contents; returns the folders whose entries changed."""
    changed: set[Path] = set()
    for folder in sorted(_parents([p for p in placements if p.content is not None])):
        if folder.is_dir():
            continue
        missing = folder
        while not missing.exists():
            changed.add(missing.parent)
            missing = missing.parent
        folder.mkdir(parents=True, exist_ok=True)
    return changed


def _stage_files(
    task_id: str, placements: list[Placement]
) -> tuple[set[Path], list[Path]]:
    folders = _make_folders(placements) | _parents(placements)
    temps = [tmp for p in placements if (tmp := _stage(p, task_id)) is not None]
    return folders, temps


def stage_all(task_id: str, placements: list[Placement], barrier: WriteBarrier) -> set[Path]:
    """Write every new content to its temp file and make them durable (one barrier).

    A content whose folder is still a file (a file turned into a folder) is staged by
    :func:`land_all` once that file is gone. Returns the folders land_all must flush.
    """
    additions = [p for p in placements if p.content is not None]
    folders, temps = _stage_files(
        task_id, [p for p, late in zip(additions, _late(additions), strict=True) if not late]
    )
    barrier.flush(temps, folders)
    return folders


def _clear_folder(target: Path) -> None:
    """Remove the folder at ``target`` (a folder turned into a file); only empty folders go,
    so anything the apply did not remove itself stops it (ENOTEMPTY)."""
    if target.is_symlink() or not target.is_dir():
        return
    for folder, _, _ in os.walk(target, topdown=False):
        os.rmdir(folder)


def land_all(
    task_id: str, placements: list[Placement], folders: set[Path], barrier: WriteBarrier
) -> None:
    """Unlink removed paths, rename every temp file over its target, then one barrier.

    Removals go first, so a folder that becomes a file (or a file that becomes a folder)
    is out of the way before its replacement lands.
    """
    additions = [p for p in placements if p.content is not None]
    late = [p for p, blocked in zip(additions, _late(additions), strict=True)
            if blocked]  # what stage_all left
    for placement in placements:
        if placement.content is None:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                placement.target.unlink()
    late_folders, _ = _stage_files(task_id, late)
    for placement in additions:
        if placement.old_mode is None or not stat.S_ISREG(placement.old_mode):
            # A regular file before (the common rewrite) is no folder to clear; were it one
            # now after all, the rename below fails and the apply rolls back.
            _clear_folder(placement.target)
        os.replace(temp_name(placement.target, task_id), placement.target)
    # The late temp files now sit at their targets: flush them there.
    late_files = [p.target for p in late if p.mode is None or not stat.S_ISLNK(p.mode)]
    # Removals count too: an unlink in a folder no addition touched is durable only once
    # that folder is flushed, else a power cut brings the removed file back.
    removed_from = _parents([p for p in placements if p.content is None])
    barrier.flush(late_files, folders | late_folders | removed_from)


def place(task_id: str, placements: list[Placement], barrier: WriteBarrier) -> None:
    """Bring every placement's target to its content (idempotent: safe to repeat)."""
    land_all(task_id, placements, stage_all(task_id, placements, barrier), barrier)


def remove_temps(task_id: str, targets: list[Path]) -> None:
    for target in targets:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            temp_name(target, task_id).unlink()
