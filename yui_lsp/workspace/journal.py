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

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yui_lsp.errors import DamagedJournalError
from yui_lsp.workspace.paths import refuse_protected, resolve_inside
from yui_lsp.workspace.placement import (  # re-exported: the journal's callers place files
    Placement,
    land_all,
    permissions,
    place,
    remove_temps,
    stage_all,
    temp_name,
)
from yui_lsp.workspace.statedir import (
    PRIVATE_DIR_MODE,
    WriteBarrier,
    check_trusted,
    open_private,
    private_dir,
    state_dir,
    write_durably,
)

__all__ = [
    "ABORTED", "COMMITTED", "MANIFEST", "PACK", "UNDONE", "Change", "Journal", "PathOp",
    "Placement", "backup_root", "commit", "journal_root", "land_all", "mark", "permissions",
    "place", "present", "read_journal", "remove_temps", "retire", "roll_back",
    "roll_forward", "stage_all", "targets", "temp_name", "write_journal",
]

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
            blob = self.folder / LEGACY_BLOBS / ref
            try:
                check_trusted(blob.parent)
                check_trusted(blob)
                return blob.read_bytes()
            except OSError as exc:
                raise _damaged(self.folder, f"{LEGACY_BLOBS}/{ref}: {exc.strerror}") from None
        if self._pack is None:
            self._pack = _read(self.folder, PACK)
        offset, length = ref
        if offset + length > len(self._pack):
            raise _damaged(self.folder, f"{MANIFEST} points past the end of {PACK}")
        return self._pack[offset : offset + length]


def journal_root(root: Path) -> Path:
    return private_dir(state_dir(root) / "journal")


def backup_root(root: Path) -> Path:
    return private_dir(state_dir(root) / "backups")


def present(path: Path) -> bool:
    """Whether ``path`` exists; UntrustedStateError when it does but is not the user's own."""
    try:
        check_trusted(path)
    except FileNotFoundError:
        return False
    return True


def _create_private(path: Path) -> int:
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)


# --------------------------------------------------------------------------- recording


def write_journal(
    journal: Path, task_id: str, changes: list[Change], barrier: WriteBarrier
) -> list[PathOp]:
    """Record every old and new content of ``changes``, durably; returns the recorded ops."""
    journal.mkdir(mode=PRIVATE_DIR_MODE)
    ops: list[PathOp] = []
    digest = hashlib.sha256()
    offset = 0
    with os.fdopen(_create_private(journal / PACK), "wb") as pack:

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
    with os.fdopen(_create_private(staged), "wb") as fh:
        fh.write(text.encode())
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
    if value is None:
        return None
    if isinstance(value, str):
        if not value or "/" in value or value in (".", ".."):
            raise ValueError(f"blob name {value!r} is not a file name")
        return value
    offset, length = value
    span = (int(offset), int(length))
    if min(span) < 0:
        raise ValueError(f"span {list(value)} is negative")
    return span


def _mode(value: Any) -> int | None:
    if value is None:
        return None
    mode = int(value)
    if not 0 <= mode <= 0o177777:
        raise ValueError(f"mode {value!r} is not a file mode")
    return mode


def _damaged(journal: Path, problem: str) -> DamagedJournalError:
    where = f"{journal.parent.name}/{journal.name}"
    return DamagedJournalError(f".yui/{where} is damaged ({problem})")


def _read(journal: Path, name: str) -> bytes:
    try:
        return (journal / name).read_bytes()
    except OSError as exc:
        raise _damaged(journal, f"{name}: {exc.strerror}") from None


def _manifest(journal: Path, body: Any) -> tuple[Journal, int, str | None, int | None]:
    """The journal ``body`` describes, its format, and its pack's checksum and size."""
    found = Journal(journal, str(body["task_id"]), [
        PathOp(path=str(op["path"]), new=_ref(op["new"]), old=_ref(op["old"]),
               mode=_mode(op["mode"]), old_mode=_mode(op["old_mode"]))
        for op in body["ops"]
    ])
    version = body.get("format", 1)
    if not isinstance(version, int):
        raise TypeError(f"format {version!r} is not a number")
    if version < FORMAT:
        return found, version, None, None
    return found, version, str(body["pack_sha256"]), int(body["pack_size"])


def read_journal(journal: Path) -> Journal | None:
    """The journal in ``journal``, or None when it is incomplete (cut off while recording).

    UntrustedStateError when the journal is not the user's own (see ``check_trusted``);
    DamagedJournalError when its manifest parses but does not describe a journal.
    """
    check_trusted(journal)
    if not present(journal / MANIFEST):
        return None
    try:
        body = json.loads(_read(journal, MANIFEST))
    except ValueError:
        return None  # torn by a crash before the recording barrier
    try:
        found, version, checksum, size = _manifest(journal, body)
    except KeyError as exc:
        raise _damaged(journal, f"{MANIFEST} has no {exc.args[0]!r}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise _damaged(journal, f"{MANIFEST}: {exc}") from None
    if version >= FORMAT:
        if not present(journal / PACK):
            return None
        pack = _read(journal, PACK)
        if len(pack) != size or hashlib.sha256(pack).hexdigest() != checksum:
            return None
        found._pack = pack
    return found


def mark(journal: Path, marker: str) -> None:
    """Leave ``marker`` in the journal, durably."""
    write_durably(journal / marker, b"")


def targets(root: Path, ops: list[PathOp]) -> list[Path]:
    refuse_protected([op.path for op in ops], "a journal under .yui/journal/ names it, so it "
                     "was not replayed (look at it, then delete it)")
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
    os.close(_create_private(journal / COMMITTED))
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
    if retention <= 0:
        shutil.rmtree(journal)
        return backups
    target = backups / task_id
    if target.exists():
        shutil.rmtree(target)
    os.replace(journal, target)
    kept = sorted(
        (p for p in backups.iterdir() if (p / MANIFEST).exists() and not p.is_symlink()),
        key=_backup_age,
        reverse=True,
    )
    for old in kept[retention:]:
        # Applies landing at once retire the same oldest backups: whoever comes second
        # finds them gone, which is what it wanted.
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(old)
    return backups


def _backup_age(backup: Path) -> int:
    # A crash may keep a backup's move but lose its marker: the manifest dates it then.
    marker = backup / COMMITTED
    try:
        return (marker if marker.exists() else backup / MANIFEST).stat().st_mtime_ns
    except FileNotFoundError:
        return 0  # retired by a concurrent apply meanwhile: the oldest of all
