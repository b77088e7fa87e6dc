"""What a spec is once read: its documents, its tasks and the edges between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class SpecFormat(StrEnum):
    """Which tool's layout a spec follows."""

    KIRO = "kiro"
    SPEC_KIT = "spec-kit"


@dataclass
class SpecTask:
    """One checkbox of a tasks.md, with everything read from its line and continuation."""

    #: The task's own number: ``1``, ``2.3`` (Kiro) or ``T004`` (spec-kit); for a checkbox
    #: without a number, ``L<line>`` (1-based line number).
    key: str
    title: str
    #: 0-based line index of the checkbox line in tasks.md.
    line: int
    #: The checkbox line's text, without its line break.
    line_text: str
    #: Character offset of the mark inside ``[ ]`` on that line.
    mark_col: int
    done: bool
    indent: int
    #: The title plus its continuation lines and detail bullets, as written (dedented).
    text: str = ""
    optional: bool = False
    #: spec-kit ``[P]``: may run with the other ``[P]`` tasks of its phase.
    parallel: bool = False
    story: str = ""
    #: 1-based phase number (spec-kit ``## Phase N``); 0 when the list has no phases.
    phase: int = 0
    phase_title: str = ""
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    checkpoint: bool = False
    requirements: list[str] = field(default_factory=list)
    #: Keys named by ``_Depends: 1.2, 3_`` (Kiro, yui's extension) or "depends on T012".
    depends: list[str] = field(default_factory=list)
    #: Workspace-relative paths named in the task (its claims).
    files: list[str] = field(default_factory=list)

    @property
    def has_work(self) -> bool:
        """A parent with sub-tasks has no work of its own: it completes when they do."""
        return not self.children


@dataclass
class Spec:
    """One spec folder: ``.kiro/specs/NAME`` or ``specs/NAME``."""

    name: str
    format: SpecFormat
    #: The spec folder, absolute.
    folder: Path
    #: The spec folder relative to the workspace root (POSIX).
    rel: str
    tasks: list[SpecTask] = field(default_factory=list)

    @property
    def tasks_rel(self) -> str:
        return f"{self.rel}/tasks.md"

    def task(self, key: str) -> SpecTask | None:
        return next((t for t in self.tasks if t.key == key), None)

    @property
    def counted(self) -> list[SpecTask]:
        """Tasks counted in done/total: every task with work of its own, parents otherwise."""
        return [t for t in self.tasks if t.has_work]

    @property
    def done_count(self) -> int:
        return sum(1 for t in self.counted if t.done)


@dataclass(frozen=True)
class Edge:
    """``after`` must complete before ``task`` starts, and why."""

    task: str
    after: str
    reason: str
