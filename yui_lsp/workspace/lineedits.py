"""Line edits a task carries (a spec's checkbox tick), landed with its result.

They are computed against what the workspace holds at landing time — the editor's unsaved
buffer included — so they never need a lease and never overwrite the user's typing: the
apply that carries them is stale-checked like every other file of the result.
"""

from __future__ import annotations

from collections.abc import Iterable

from yui_lsp.protocol import ChangeKind, FileConflict, LineEdit
from yui_lsp.workspace.types import Integration, MergedFile, WorkspaceReader


def _find(lines: list[str], edit: LineEdit) -> int | None:
    """Index of the line reading ``edit.old`` nearest to ``edit.line``."""
    matches = [i for i, line in enumerate(lines) if line.rstrip("\r") == edit.old]
    if not matches:
        return None
    return min(matches, key=lambda i: abs(i - edit.line))


def apply_line_edits(text: str, edits: Iterable[LineEdit]) -> str:
    """``text`` with every applicable edit made, in order; lines split on ``\\n`` only."""
    lines = text.split("\n")
    for edit in edits:
        index = _find(lines, edit)
        if index is None:
            continue
        present = {line.rstrip("\r") for line in lines}
        if any(required not in present for required in edit.requires):
            continue
        ending = "\r" if lines[index].endswith("\r") else ""
        lines[index] = edit.new + ending
    return "\n".join(lines)


def with_line_edits(
    integration: Integration, edits: list[LineEdit], reader: WorkspaceReader
) -> Integration:
    """``integration`` with the edits' files replaced by the current text plus the edits.

    Whatever the agent did to those files is dropped (the task list is yui's to tick), and so
    are conflicts about them. Files that would not change are left out.
    """
    if not edits:
        return integration
    paths = list(dict.fromkeys(edit.path for edit in edits))
    files = [f for f in integration.files if f.path not in paths and f.old_path not in paths]
    conflicts: list[FileConflict] = [c for c in integration.conflicts if c.path not in paths]
    for path in paths:
        current = reader.read(path)
        if current is None:
            continue
        text = current.decode("utf-8", errors="surrogateescape")
        new = apply_line_edits(text, (e for e in edits if e.path == path))
        if new != text:
            files.append(MergedFile(path=path, kind=ChangeKind.MODIFY,
                                    content=new.encode("utf-8", errors="surrogateescape"),
                                    expected=current))
    return Integration(task_id=integration.task_id, files=files, conflicts=conflicts)
