"""Shapes shared by the workspace layer and the front ends that apply results.

The coordinator merges a task's change set against what the workspace holds *now* and hands
the result to an :class:`Applier`: headless, the journaled file applier of this package; in
the editor, the language server's ``workspace/applyEdit`` applier. Both read "now" through a
:class:`WorkspaceReader`, which the server backs with the editor's unsaved buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from yui_lsp.protocol import ChangeKind, FileConflict, Task


class WorkspaceReader(Protocol):
    """What the workspace holds now, by workspace-relative POSIX path."""

    def read(self, rel_path: str) -> bytes | None:
        """Current bytes of the file (the editor buffer if open), or None if it doesn't exist."""
        ...


@dataclass
class MergedFile:
    """One file of an integrated result, ready to apply."""

    path: str
    kind: ChangeKind
    #: New full content; None for deletions.
    content: bytes | None
    #: What the workspace held when merging (None = did not exist). An applier must check the
    #: file still holds exactly this before replacing it, else re-merge (the user typed).
    expected: bytes | None
    old_path: str | None = None
    mode: int | None = None
    binary: bool = False


@dataclass
class Integration:
    """A task's change set merged three ways with the current workspace."""

    task_id: str
    files: list[MergedFile] = field(default_factory=list)
    conflicts: list[FileConflict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


class StaleContentError(Exception):
    """An applier found a file no longer holding ``MergedFile.expected``: merge again."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} changed while the result was being applied")


class Applier(Protocol):
    """Lands an integration in the workspace as one atomic unit."""

    async def apply(self, task: Task, integration: Integration) -> list[str]:
        """Write every file or none; return the paths written.

        Raises StaleContentError when a file changed since the merge (the coordinator merges
        again and retries) and ApplyError when it cannot write (nothing half-written).
        """
        ...
