"""The write-ahead journal of one apply: what each path held before and will hold after.

A journal is the folder ``.yui/journal/<task_id>/``: ``blobs/`` with every old and new
content, then ``manifest.json`` (written last, atomically: its presence means the journal is
complete), then, once every file is in place, a ``committed`` marker; an ``aborted`` marker
means the apply failed half-way and must be rolled back. Committed journals become the
task's backup under ``.yui/backups/<task_id>/``, which ``undo`` reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from yui_lsp.workspace.paths import resolve_inside
from yui_lsp.workspace.statedir import fsync_dir, state_dir, write_durably

MANIFEST = "manifest.json"
COMMITTED = "committed"
ABORTED = "aborted"
UNDONE = "undone"


@dataclass
class PathOp:
    """One path's part of an apply: replace it with ``new`` (None = remove it)."""

    path: str
    new: str | None  # blob name in the journal, None = path must not exist afterwards
    old: str | None  # blob name of the previous content, None = path did not exist
    mode: int | None = None  # st_mode for the new content (symlink or executable bits)
    old_mode: int | None = None


def journal_root(root: Path) -> Path:
    return state_dir(root) / "journal"


def backup_root(root: Path) -> Path:
    return state_dir(root) / "backups"


def temp_name(target: Path, task_id: str) -> Path:
    """The temp file next to ``target`` that becomes it (derivable again after a crash)."""
    tag = hashlib.sha1(task_id.encode()).hexdigest()[:10]
    return target.with_name(f".{target.name[:180]}.yui-{tag}.tmp")


def write_blob(folder: Path, name: str, data: bytes) -> None:
    with (folder / name).open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_manifest(journal: Path, task_id: str, ops: list[PathOp]) -> None:
    body = {"task_id": task_id, "ops": [asdict(op) for op in ops]}
    fsync_dir(journal / "blobs")
    write_durably(journal / MANIFEST, json.dumps(body, indent=1).encode())
    fsync_dir(journal.parent)


def read_manifest(journal: Path) -> tuple[str, list[PathOp]]:
    body = json.loads((journal / MANIFEST).read_text(encoding="utf-8"))
    return str(body["task_id"]), [PathOp(**op) for op in body["ops"]]


def mark(journal: Path, marker: str) -> None:
    write_durably(journal / marker, b"")


def blob(journal: Path, name: str | None) -> bytes | None:
    return None if name is None else (journal / "blobs" / name).read_bytes()


def stage(root: Path, journal: Path, task_id: str, op: PathOp) -> None:
    """Write ``op``'s new content to its temp file next to the target, durably."""
    if op.new is None:
        return
    target = resolve_inside(root, op.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target, task_id)
    data = blob(journal, op.new) or b""
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    if op.mode is not None and stat.S_ISLNK(op.mode):
        os.symlink(data.decode("utf-8"), tmp)
        return
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if op.mode is not None:
        os.chmod(tmp, stat.S_IMODE(op.mode))
    elif op.old_mode is not None:
        os.chmod(tmp, stat.S_IMODE(op.old_mode))


def land(root: Path, task_id: str, op: PathOp) -> None:
    """Put the staged content in place (or remove the path): one atomic rename or unlink."""
    target = resolve_inside(root, op.path)
    if op.new is None:
        target.unlink(missing_ok=True)
        return
    os.replace(temp_name(target, task_id), target)


def restore(root: Path, journal: Path, task_id: str, op: PathOp) -> None:
    """Put ``op.path`` back to its old content (idempotent)."""
    back = PathOp(path=op.path, new=op.old, old=None, mode=op.old_mode)
    if op.old is not None:
        stage(root, journal, task_id, back)
    land(root, task_id, back)


def roll_forward(root: Path, journal: Path, task_id: str, ops: list[PathOp]) -> None:
    """Bring every path to its new content (idempotent: safe to repeat after a crash)."""
    for op in ops:
        stage(root, journal, task_id, op)
    for op in ops:
        land(root, task_id, op)
    sync_parents(root, ops)


def remove_temps(root: Path, task_id: str, ops: list[PathOp]) -> None:
    for op in ops:
        tmp = temp_name(resolve_inside(root, op.path), task_id)
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()


def sync_parents(root: Path, ops: list[PathOp]) -> None:
    for folder in sorted({resolve_inside(root, op.path).parent for op in ops}):
        if folder.is_dir():
            fsync_dir(folder)


def retire(root: Path, journal: Path, task_id: str, retention: int) -> None:
    """Move a committed journal to the backups (or drop it), keeping ``retention`` of them."""
    backups = backup_root(root)
    backups.mkdir(exist_ok=True)
    if retention <= 0:
        shutil.rmtree(journal)
        return
    target = backups / task_id
    if target.exists():
        shutil.rmtree(target)
    os.replace(journal, target)
    fsync_dir(backups)
    kept = sorted(
        (p for p in backups.iterdir() if (p / COMMITTED).exists()),
        key=lambda p: (p / COMMITTED).stat().st_mtime_ns,
        reverse=True,
    )
    for old in kept[retention:]:
        shutil.rmtree(old)
