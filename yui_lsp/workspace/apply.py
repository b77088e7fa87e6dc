"""Headless atomic apply, crash recovery and undo.

Order of one apply (each step durable before the next):
1. every target still holds what the merge saw (else ``StaleContentError``, nothing written);
2. the journal gets every old and new content, then its manifest;
3. each new content goes to a temp file beside its target (fsynced);
4. each temp file is renamed over its target, removed paths are unlinked;
5. a commit record; the journal becomes the task's backup.
A crash before 2 completes leaves nothing to do; after it, :func:`recover` rolls forward.
A write error in 3 or 4 rolls back at once, so every file is whole-old or whole-new.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yui_lsp.errors import ApplyError, YuiError
from yui_lsp.protocol import ChangeKind, Task
from yui_lsp.workspace import journal as jr
from yui_lsp.workspace.journal import PathOp
from yui_lsp.workspace.merge import DiskReader, merge3
from yui_lsp.workspace.paths import resolve_inside
from yui_lsp.workspace.types import Integration, MergedFile, StaleContentError, WorkspaceReader


def _old_mode(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except FileNotFoundError:
        return None


def _plan(root: Path, integration: Integration) -> list[tuple[PathOp, bytes | None, bytes | None]]:
    """Per-path operations with their new and old contents; a rename is a remove plus a create."""
    planned: list[tuple[PathOp, bytes | None, bytes | None]] = []

    def add(path: str, new: bytes | None, old: bytes | None, mode: int | None) -> None:
        i = len(planned)
        op = PathOp(
            path=path, new=None if new is None else f"{i}.new",
            old=None if old is None else f"{i}.old", mode=mode,
            old_mode=_old_mode(resolve_inside(root, path)),
        )
        planned.append((op, new, old))

    for merged in integration.files:
        if merged.kind is ChangeKind.RENAME and merged.old_path:
            add(merged.old_path, None, merged.expected, None)
            add(merged.path, merged.content, None, merged.mode)
        else:
            add(merged.path, merged.content, merged.expected, merged.mode)
    return planned


def _check_current(root: Path, integration: Integration) -> None:
    disk = DiskReader(root)
    for merged in integration.files:
        if merged.kind is ChangeKind.RENAME and merged.old_path:
            if disk.read(merged.old_path) != merged.expected:
                raise StaleContentError(merged.old_path)
            if disk.read(merged.path) is not None:
                raise StaleContentError(merged.path)
        elif disk.read(merged.path) != merged.expected:
            raise StaleContentError(merged.path)


def _writable(path: Path) -> bool:
    # Write bits are checked too: a file the user made read-only stays untouched even when
    # yui runs with privileges that would let it write anyway.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def _check_writable(root: Path, ops: list[PathOp]) -> None:
    for op in ops:
        target = resolve_inside(root, op.path)
        if target.exists() and not target.is_symlink() and not _writable(target):
            raise ApplyError(
                f"{op.path} is read-only, so the task's result was not applied "
                "(make it writable and retry the task)"
            )
        folder = target.parent
        while not folder.exists():
            folder = folder.parent
        if not (_writable(folder) and os.access(folder, os.X_OK)):
            raise ApplyError(
                f"cannot write in {folder.name or 'the workspace root'}/ for {op.path}; nothing "
                "was applied (fix the folder's permissions and retry the task)"
            )


class JournaledApplier:
    """Applies an integration to the files on disk, all or nothing, surviving crashes."""

    def __init__(self, root: Path, retention: int) -> None:
        self.root = Path(root)
        self.retention = retention

    async def apply(self, task: Task, integration: Integration) -> list[str]:
        """Write every file of ``integration`` or none; return the paths written."""
        return await anyio.to_thread.run_sync(self.apply_sync, task.id, integration)

    def apply_sync(self, task_id: str, integration: Integration) -> list[str]:
        """The blocking body of :meth:`apply` (also used by :func:`undo`)."""
        if not integration.files:
            return []
        planned = _plan(self.root, integration)
        ops = [op for op, _, _ in planned]
        _check_current(self.root, integration)
        _check_writable(self.root, ops)
        journal = jr.journal_root(self.root) / task_id
        if journal.exists():
            _recover_one(self.root, journal, self.retention)
        try:
            (journal / "blobs").mkdir(parents=True)
            for op, new, old in planned:
                if op.new is not None and new is not None:
                    jr.write_blob(journal / "blobs", op.new, new)
                if op.old is not None and old is not None:
                    jr.write_blob(journal / "blobs", op.old, old)
            jr.write_manifest(journal, task_id, ops)
        except OSError as exc:
            shutil.rmtree(journal, ignore_errors=True)
            raise ApplyError(
                f"could not record task {task_id}'s result under .yui/journal ({exc.strerror}); "
                "nothing was applied (free disk space and retry)"
            ) from None
        self._write_files(journal, task_id, ops)
        jr.mark(journal, jr.COMMITTED)
        jr.retire(self.root, journal, task_id, self.retention)
        return [m.path for m in integration.files]

    def _write_files(self, journal: Path, task_id: str, ops: list[PathOp]) -> None:
        try:
            for op in ops:
                jr.stage(self.root, journal, task_id, op)
        except OSError as exc:
            jr.remove_temps(self.root, task_id, ops)
            shutil.rmtree(journal, ignore_errors=True)
            raise ApplyError(_write_failure(task_id, exc)) from None
        try:
            for op in ops:
                jr.land(self.root, task_id, op)
            jr.sync_parents(self.root, ops)
        except OSError as exc:
            # Some targets already hold the new content: put every one back to its old.
            jr.mark(journal, jr.ABORTED)
            _roll_back(self.root, journal, task_id, ops)
            raise ApplyError(_write_failure(task_id, exc)) from None


def _write_failure(task_id: str, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return (
        f"writing task {task_id}'s result failed: {exc.strerror}{where}; every file was left "
        "as it was (fix the cause and retry the task)"
    )


def _roll_back(root: Path, journal: Path, task_id: str, ops: list[PathOp]) -> None:
    for op in ops:
        jr.restore(root, journal, task_id, op)
    jr.remove_temps(root, task_id, ops)
    jr.sync_parents(root, ops)
    shutil.rmtree(journal)


def _recover_one(root: Path, journal: Path, retention: int) -> str:
    """Finish or undo one interrupted apply; returns what was done."""
    if not (journal / jr.MANIFEST).exists():
        # Interrupted while writing the journal: no target was touched yet.
        shutil.rmtree(journal)
        return "discarded"
    task_id, ops = jr.read_manifest(journal)
    if (journal / jr.ABORTED).exists():
        _roll_back(root, journal, task_id, ops)
        return "rolled back"
    if not (journal / jr.COMMITTED).exists():
        jr.roll_forward(root, journal, task_id, ops)
        jr.mark(journal, jr.COMMITTED)
    jr.remove_temps(root, task_id, ops)
    jr.retire(root, journal, task_id, retention)
    return "rolled forward"


def recover(root: Path, retention: int = 50) -> list[str]:
    """Complete or undo every interrupted apply under ``root``; returns the task ids touched.

    Per task, afterwards every file holds either all its old or all its new content, and no
    temp file is left behind.
    """
    folder = jr.journal_root(Path(root))
    if not folder.is_dir():
        return []
    done = []
    for journal in sorted(p for p in folder.iterdir() if p.is_dir()):
        _recover_one(Path(root), journal, retention)
        done.append(journal.name)
    return done


# --------------------------------------------------------------------------- undo


@dataclass
class UndoReport:
    """What ``undo`` reverted, and why it left the rest."""

    task_id: str
    reverted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def undo(root: Path, task_id: str, current: WorkspaceReader) -> UndoReport:
    """Revert exactly what task ``task_id`` applied, three-way where files changed since."""
    backup = jr.backup_root(Path(root)) / task_id
    if not (backup / jr.MANIFEST).exists():
        raise YuiError(
            f"no backup of task {task_id!r} to undo (only the last applied tasks are kept; "
            "see backup_retention)"
        )
    if (backup / jr.UNDONE).exists():
        raise YuiError(f"task {task_id!r} was already undone")
    _, ops = jr.read_manifest(backup)
    report = UndoReport(task_id=task_id)
    files: list[MergedFile] = []
    for op in ops:
        applied, previous = jr.blob(backup, op.new), jr.blob(backup, op.old)
        now = current.read(op.path)
        outcome = merge3(applied, now, previous, op.path)
        if outcome.conflict is not None:
            report.skipped[op.path] = outcome.conflict.reason.replace("the task", "the undo")
            continue
        if outcome.content == now:
            if now != previous:
                report.skipped[op.path] = "already differs from what the task wrote"
            continue
        kind = ChangeKind.DELETE if outcome.content is None else (
            ChangeKind.CREATE if now is None else ChangeKind.MODIFY
        )
        # Restoring a removed file brings back its permissions (and symlink-ness) too.
        mode = op.old_mode if outcome.content is not None and now is None else None
        files.append(MergedFile(path=op.path, kind=kind, content=outcome.content, expected=now,
                                mode=mode))
    applier = JournaledApplier(Path(root), retention=0)
    report.reverted = applier.apply_sync(f"undo-{task_id}", Integration(task_id, files))
    jr.mark(backup, jr.UNDONE)
    return report
