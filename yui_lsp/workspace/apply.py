"""Headless atomic apply, crash recovery and undo.

Order of one apply (each step durable before the next; a step = one write barrier, so an
apply of thousands of files costs a handful of flushes):
1. every target still holds what the merge saw (else ``StaleContentError``, nothing written);
2. the journal gets every old and new content and its manifest;
3. each new content goes to a temp file beside its target;
4. each temp file is renamed over its target, removed paths are unlinked;
5. a commit record; the journal becomes the task's backup.
A crash before 2 completes leaves nothing to do; after it, :func:`recover` rolls forward.
A write error in 3 or 4 rolls back at once, so every file is whole-old or whole-new.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yui_lsp.errors import (
    ApplyError,
    DamagedJournalError,
    PathOutsideWorkspaceError,
    YuiError,
)
from yui_lsp.protocol import ChangeKind, Task
from yui_lsp.workspace import journal as jr
from yui_lsp.workspace.merge import merge3, read_held
from yui_lsp.workspace.paths import folders_checked_once, refuse_protected, resolve_inside
from yui_lsp.workspace.statedir import WriteBarrier
from yui_lsp.workspace.types import Integration, MergedFile, StaleContentError, WorkspaceReader


def _prepare(root: Path, integration: Integration) -> list[jr.Change]:
    """Per-path changes, each target checked to hold what the merge saw.

    A rename is a remove plus a create. Each path is resolved and read once: the read that
    proves it unchanged also gives the old content the journal keeps.
    """
    refuse_protected([p for m in integration.files for p in (m.path, m.old_path) if p],
                     f"none of task {integration.task_id}'s result was applied")
    changes: list[jr.Change] = []

    def add(path: str, new: bytes | None, old: bytes | None, mode: int | None) -> None:
        target = resolve_inside(root, path)
        now, old_mode = read_held(target)
        if now != old:
            raise StaleContentError(path)
        changes.append(jr.Change(path, target, new, old, mode, old_mode))

    with folders_checked_once(root):  # nothing is written until every path is checked
        for merged in integration.files:
            if merged.kind is ChangeKind.RENAME and merged.old_path:
                add(merged.old_path, None, merged.expected, None)
                add(merged.path, merged.content, None, merged.mode)
            else:
                add(merged.path, merged.content, merged.expected, merged.mode)
    return changes


def _writable(path: Path, mode: int) -> bool:
    # Write bits are checked too: a file the user made read-only stays untouched even when
    # yui runs with privileges that would let it write anyway.
    return os.access(path, os.W_OK) and bool(mode & 0o222)


def _check_shape(changes: list[jr.Change]) -> None:
    """A folder that becomes a file must hold nothing but what the apply removes, and a file
    that becomes a folder must be removed by it: else say so before anything is written."""
    removed = {c.target for c in changes if c.new is None}
    folders: set[str] = set()  # known to be folders: asked once each
    for change in changes:
        if change.new is None:
            continue
        if change.old_mode is not None and stat.S_ISDIR(change.old_mode):
            left = next((Path(folder) / name for folder, _, names in os.walk(change.target)
                         for name in names if Path(folder) / name not in removed), None)
            if left is not None:
                raise ApplyError(
                    f"the task turned the folder {change.path}/ into a file, but the workspace "
                    f"still has {left.relative_to(change.target.parent)} in it; nothing was "
                    "applied (move what is left in that folder away and retry the task)"
                )
        if os.path.dirname(change.target) in folders:
            continue  # its folder is one already: no Path built to see so
        for folder in change.target.parents:
            if folder.is_dir():
                folders.add(os.fspath(folder))
                break
            if (folder.exists() or folder.is_symlink()) and folder not in removed:
                raise ApplyError(
                    f"the task put {change.path} in a folder, but {folder.name} is a file in "
                    "the workspace; nothing was applied (move that file away and retry the "
                    "task)"
                )


def _check_writable(changes: list[jr.Change]) -> None:
    _check_shape(changes)
    # target folder -> nearest existing one if unwritable (by name: no Path built per file)
    folders: dict[str, Path | None] = {}
    for change in changes:
        mode = change.old_mode
        if (mode is not None and stat.S_ISREG(mode)
                and not _writable(change.target, mode)):
            raise ApplyError(
                f"{change.path} is read-only, so the task's result was not applied "
                "(make it writable and retry the task)"
            )
        parent = os.path.dirname(change.target)
        if parent not in folders:
            folder = change.target.parent
            while not folder.is_dir():  # a file there is one the apply removes first
                folder = folder.parent
            usable = _writable(folder, folder.stat().st_mode) and os.access(folder, os.X_OK)
            folders[parent] = None if usable else folder
        if (denied := folders[parent]) is not None:
            raise ApplyError(
                f"cannot write in {denied.name or 'the workspace root'}/ for {change.path}; "
                "nothing was applied (fix the folder's permissions and retry the task)"
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
        changes = _prepare(self.root, integration)
        _check_writable(changes)
        journal = jr.journal_root(self.root) / task_id
        if journal.exists():
            _recover_one(self.root, journal, self.retention)
        with WriteBarrier(self.root) as barrier:
            try:
                jr.write_journal(journal, task_id, changes, barrier)
            except OSError as exc:
                shutil.rmtree(journal, ignore_errors=True)
                raise ApplyError(
                    f"could not record task {task_id}'s result under .yui/journal "
                    f"({exc.strerror}); nothing was applied (free disk space and retry)"
                ) from None
            self._write_files(journal, task_id, changes, barrier)
            jr.commit(self.root, journal, task_id, self.retention, barrier)
        return [m.path for m in integration.files]

    def _write_files(
        self, journal: Path, task_id: str, changes: list[jr.Change], barrier: WriteBarrier
    ) -> None:
        placements = [jr.Placement(c.target, c.new, c.mode, c.old_mode) for c in changes]
        try:
            folders = jr.stage_all(task_id, placements, barrier)
        except OSError as exc:
            jr.remove_temps(task_id, [c.target for c in changes])
            shutil.rmtree(journal, ignore_errors=True)
            # The journal's removal is flushed too, else a power cut could bring it back and
            # recovery would roll forward a task reported as not applied. The apply has
            # failed already; a disk too broken for this flush is reported by that error.
            with contextlib.suppress(OSError):
                barrier.flush([], [journal.parent])
            raise ApplyError(_write_failure(task_id, exc)) from None
        try:
            jr.land_all(task_id, placements, folders, barrier)
        except OSError as exc:
            # Some targets already hold the new content: put every one back to its old.
            jr.mark(journal, jr.ABORTED)
            recorded = jr.read_journal(journal)
            assert recorded is not None  # recorded durably before any target was touched
            _roll_back(self.root, recorded, barrier)
            raise ApplyError(_write_failure(task_id, exc)) from None


def _write_failure(task_id: str, exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return (
        f"writing task {task_id}'s result failed: {exc.strerror}{where}; every file was left "
        "as it was (fix the cause and retry the task)"
    )


def _roll_back(root: Path, journal: jr.Journal, barrier: WriteBarrier) -> None:
    jr.roll_back(root, journal, barrier)
    jr.remove_temps(journal.task_id, jr.targets(root, journal.ops))
    shutil.rmtree(journal.folder)


def _recover_one(root: Path, folder: Path, retention: int) -> str:
    """Finish or undo one interrupted apply; returns what was done."""
    try:
        return _replay(root, folder, retention)
    except (DamagedJournalError, PathOutsideWorkspaceError) as exc:
        # Every content is read before the first file is placed: nothing was touched.
        problem = str(exc) if isinstance(exc, DamagedJournalError) else (
            f".yui/journal/{folder.name} names {exc.path!r}, outside the workspace")
        raise DamagedJournalError(
            f"an interrupted apply cannot be finished: {problem}; "
            "yui left every file as it is (look at the files its manifest.json names, then "
            "move the folder out of .yui/journal/ and run again)") from None


def _replay(root: Path, folder: Path, retention: int) -> str:
    journal = jr.read_journal(folder)
    if journal is None:
        # Interrupted while writing the journal: no target was touched yet.
        shutil.rmtree(folder)
        return "discarded"
    with WriteBarrier(root) as barrier:
        if jr.present(folder / jr.ABORTED):
            _roll_back(root, journal, barrier)
            return "rolled back"
        if not jr.present(folder / jr.COMMITTED):
            jr.roll_forward(root, journal, barrier)
        jr.remove_temps(journal.task_id, jr.targets(root, journal.ops))
        jr.commit(root, folder, journal.task_id, retention, barrier)
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
    if not jr.present(backup) or not jr.present(backup / jr.MANIFEST):
        raise YuiError(
            f"no backup of task {task_id!r} to undo (only the last applied tasks are kept; "
            "see backup_retention)"
        )
    if jr.present(backup / jr.UNDONE):
        raise YuiError(f"task {task_id!r} was already undone")
    damage = f".yui/backups/{task_id} is damaged"
    try:
        recorded = jr.read_journal(backup)
        contents = [] if recorded is None else [
            (op, recorded.content(op.new), recorded.content(op.old)) for op in recorded.ops]
    except DamagedJournalError as exc:
        recorded, damage = None, str(exc)
    if recorded is None:
        raise YuiError(
            f"the backup of task {task_id!r} cannot be read: {damage}; the task cannot be "
            "undone automatically (restore the files from git or by hand)"
        )
    report = UndoReport(task_id=task_id)
    files: list[MergedFile] = []
    for op, applied, previous in contents:
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
