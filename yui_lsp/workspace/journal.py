"""The write-ahead journal of one apply: what each path held before and will hold after.

A journal is the folder ``.yui/journal/<task_id>/``: ``blobs.pack`` holds every old and new
content back to back, and ``manifest.json`` lists each path's operation with the spans of
its contents in the pack, plus the pack's size and SHA-256. A journal is complete when its
manifest parses and its pack matches the checksum; an incomplete one was cut off before any
target was touched. Once every file is in place a ``committed`` marker follows; an
``aborted`` marker means the apply failed half-way and must be rolled back. Committed
journals become the task's backup under ``.yui/backups/<task_id>/``, which ``undo`` reads.

Journals of earlier versions keep one file per content under ``blobs/`` and count as
complete when their manifest exists; they are still read.

Durability comes from write barriers (:class:`WriteBarrier`), not from one fsync per file:
a few flushes per apply, whatever its size, in the order the recovery relies on.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from yui_lsp.workspace.paths import resolve_inside
from yui_lsp.workspace.statedir import WriteBarrier, state_dir, write_durably

MANIFEST = "manifest.json"
PACK = "blobs.pack"
LEGACY_BLOBS = "blobs"
COMMITTED = "committed"
ABORTED = "aborted"
UNDONE = "undone"
FORMAT = 2

#: Where a content lives in a journal: ``(offset, length)`` in the pack, or the name of a
#: file under ``blobs/`` in journals of earlier versions.
BlobRef = str | tuple[int, int]


@dataclass
class PathOp:
    """One path's part of an apply, as recorded: replace it with ``new`` (None = remove it)."""

    path: str
    new: BlobRef | None  # None = path must not exist afterwards
    old: BlobRef | None  # None = path did not exist
    mode: int | None = None  # st_mode for the new content (symlink or executable bits)
    old_mode: int | None = None


@dataclass
class Change:
    """One path's part of an apply, in memory: its target on disk and both contents."""

    path: str
    target: Path
    new: bytes | None
    old: bytes | None
    mode: int | None = None
    old_mode: int | None = None


@dataclass
class Placement:
    """Content to put at ``target`` (None = remove it), with the permissions it gets."""

    target: Path
    content: bytes | None
    mode: int | None = None
    old_mode: int | None = None


@dataclass
class Journal:
    """A complete journal read back from disk."""

    folder: Path
    task_id: str
    ops: list[PathOp]
    _pack: bytes | None = field(default=None, repr=False)

    def content(self, ref: BlobRef | None) -> bytes | None:
        """The bytes ``ref`` points at (None for None)."""
        if ref is None:
            return None
        if isinstance(ref, str):
            return (self.folder / LEGACY_BLOBS / ref).read_bytes()
        if self._pack is None:
            self._pack = (self.folder / PACK).read_bytes()
        offset, length = ref
        return self._pack[offset : offset + length]


def journal_root(root: Path) -> Path:
    return state_dir(root) / "journal"


def backup_root(root: Path) -> Path:
    return state_dir(root) / "backups"


@lru_cache(maxsize=64)
def _temp_tag(task_id: str) -> str:
    return hashlib.sha1(task_id.encode()).hexdigest()[:10]


def temp_name(target: Path, task_id: str) -> Path:
    """The temp file next to ``target`` that becomes it (derivable again after a crash)."""
    return target.with_name(f".{target.name[:180]}.yui-{_temp_tag(task_id)}.tmp")


# --------------------------------------------------------------------------- recording


def write_journal(
    journal: Path, task_id: str, changes: list[Change], barrier: WriteBarrier
) -> list[PathOp]:
    """Record every old and new content of ``changes``, durably; returns the recorded ops."""
    journal.mkdir(parents=True)
    ops: list[PathOp] = []
    digest = hashlib.sha256()
    offset = 0
    with (journal / PACK).open("wb") as pack:

        def put(data: bytes | None) -> tuple[int, int] | None:
            nonlocal offset
            if data is None:
                return None
            pack.write(data)
            digest.update(data)
            span = (offset, len(data))
            offset += len(data)
            return span

        for change in changes:
            new, old = put(change.new), put(change.old)
            ops.append(PathOp(change.path, new, old, change.mode, change.old_mode))
    body = {"format": FORMAT, "task_id": task_id, "pack_size": offset,
            "pack_sha256": digest.hexdigest(), "ops": [
                # One line per path: readable, and a tenth of the cost of asdict + indent.
                {"path": op.path, "new": op.new, "old": op.old, "mode": op.mode,
                 "old_mode": op.old_mode}
                for op in ops
            ]}
    text = json.dumps(body, separators=(",", ":")).replace(',{"path"', ',\n{"path"')
    staged = journal / f".{MANIFEST}.tmp"
    staged.write_bytes(text.encode())
    os.replace(staged, journal / MANIFEST)
    # One barrier: the pack, the manifest and the journal's own folder entries — up to
    # ``.yui``'s own name in the workspace, which may be new — are on disk before any target
    # is touched. A crash before it may leave a manifest whose pack does not match:
    # read_journal calls that incomplete.
    state = journal.parent.parent
    barrier.flush([journal / PACK, journal / MANIFEST],
                  [journal, journal.parent, state, state.parent])
    return ops


def _ref(value: Any) -> BlobRef | None:
    if value is None or isinstance(value, str):
        return value
    offset, length = value
    return (int(offset), int(length))


def read_journal(journal: Path) -> Journal | None:
    """The journal in ``journal``, or None when it is incomplete (cut off while recording)."""
    try:
        body = json.loads((journal / MANIFEST).read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # torn by a crash before the recording barrier
    found = Journal(journal, str(body["task_id"]), [
        PathOp(path=op["path"], new=_ref(op["new"]), old=_ref(op["old"]), mode=op["mode"],
               old_mode=op["old_mode"])
        for op in body["ops"]
    ])
    if body.get("format", 1) >= FORMAT:
        try:
            pack = (journal / PACK).read_bytes()
        except FileNotFoundError:
            return None
        if len(pack) != body["pack_size"] or hashlib.sha256(pack).hexdigest() != body[
            "pack_sha256"
        ]:
            return None
        found._pack = pack
    return found


def mark(journal: Path, marker: str) -> None:
    """Leave ``marker`` in the journal, durably."""
    write_durably(journal / marker, b"")


# --------------------------------------------------------------------------- placing files


def _write_new(tmp: Path, data: bytes, mode: int | None) -> None:
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
        if mode is not None:
            os.fchmod(fd, stat.S_IMODE(mode))
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
    mode = placement.mode
    if mode is None and placement.old_mode is not None and stat.S_ISREG(placement.old_mode):
        mode = placement.old_mode  # a rewritten file keeps its permissions
    _write_new(tmp, data, mode)
    return tmp


def _make_folders(placements: list[Placement]) -> set[Path]:
    """Create the missing folders of new contents; returns the folders whose entries changed."""
    changed: set[Path] = set()
    for folder in sorted({p.target.parent for p in placements if p.content is not None}):
        if folder.is_dir():
            continue
        missing = folder
        while not missing.exists():
            changed.add(missing.parent)
            missing = missing.parent
        folder.mkdir(parents=True, exist_ok=True)
    return changed


def stage_all(task_id: str, placements: list[Placement], barrier: WriteBarrier) -> set[Path]:
    """Write every new content to its temp file and make them durable (one barrier).

    Returns the folders :func:`land_all` must flush.
    """
    folders = _make_folders(placements) | {p.target.parent for p in placements}
    temps = [
        tmp for p in placements if p.content is not None
        if (tmp := _stage(p, task_id)) is not None
    ]
    barrier.flush(temps, folders)
    return folders


def land_all(
    task_id: str, placements: list[Placement], folders: set[Path], barrier: WriteBarrier
) -> None:
    """Rename every temp file over its target, unlink removed paths, then one barrier."""
    for placement in placements:
        if placement.content is None:
            placement.target.unlink(missing_ok=True)
        else:
            os.replace(temp_name(placement.target, task_id), placement.target)
    barrier.flush([], folders)


def place(task_id: str, placements: list[Placement], barrier: WriteBarrier) -> None:
    """Bring every placement's target to its content (idempotent: safe to repeat)."""
    land_all(task_id, placements, stage_all(task_id, placements, barrier), barrier)


def remove_temps(task_id: str, targets: list[Path]) -> None:
    for target in targets:
        temp_name(target, task_id).unlink(missing_ok=True)


def targets(root: Path, ops: list[PathOp]) -> list[Path]:
    return [resolve_inside(root, op.path) for op in ops]


def roll_forward(root: Path, journal: Journal, barrier: WriteBarrier) -> None:
    """Bring every path of ``journal`` to its new content."""
    place(journal.task_id, [
        Placement(target, journal.content(op.new), op.mode, op.old_mode)
        for op, target in zip(journal.ops, targets(root, journal.ops), strict=True)
    ], barrier)


def roll_back(root: Path, journal: Journal, barrier: WriteBarrier) -> None:
    """Bring every path of ``journal`` back to its old content."""
    place(journal.task_id, [
        Placement(target, journal.content(op.old), op.old_mode)
        for op, target in zip(journal.ops, targets(root, journal.ops), strict=True)
    ], barrier)


# --------------------------------------------------------------------------- commit


def commit(
    root: Path, journal: Path, task_id: str, retention: int, barrier: WriteBarrier
) -> None:
    """Mark a journal whose files are all in place committed and keep it as the backup."""
    (journal / COMMITTED).write_bytes(b"")
    backups = retire(root, journal, task_id, retention)
    # One barrier for the marker and the move (and the backups folder's own entry, which
    # may be new). Lost to a crash, recovery rolls the task forward once more: the same
    # bytes again.
    barrier.flush([], [backups, journal.parent, backups.parent])


def retire(root: Path, journal: Path, task_id: str, retention: int) -> Path:
    """Move a committed journal to the backups (or drop it), keeping ``retention`` of them.

    Returns the backups folder.
    """
    backups = backup_root(root)
    backups.mkdir(exist_ok=True)
    if retention <= 0:
        shutil.rmtree(journal)
        return backups
    target = backups / task_id
    if target.exists():
        shutil.rmtree(target)
    os.replace(journal, target)
    kept = sorted(
        (p for p in backups.iterdir() if (p / MANIFEST).exists()),
        key=_backup_age,
        reverse=True,
    )
    for old in kept[retention:]:
        shutil.rmtree(old)
    return backups


def _backup_age(backup: Path) -> int:
    # A crash may keep a backup's move but lose its marker: the manifest dates it then.
    marker = backup / COMMITTED
    return (marker if marker.exists() else backup / MANIFEST).stat().st_mtime_ns
