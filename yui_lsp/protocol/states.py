"""The states of the wire format (task status, outcome, lease type, change kind) as plain enums.

Apart from the pydantic models so that the quick readers of yui's state (``yui status``,
``yui locks``: :mod:`yui_lsp.coordinator.glance`) name them without importing pydantic.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Where a task is in its life. The last four are terminal.

    ``review`` (editor, review mode): the merged result waits for the user's apply or
    discard; nothing runs, so clients count it apart from running tasks.
    """

    PENDING = "pending"
    BLOCKED = "blocked"
    QUEUED = "queued"
    ACQUIRING = "acquiring"
    RUNNING = "running"
    INTEGRATING = "integrating"
    REVIEW = "review"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CONFLICT = "conflict"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.CONFLICT}
)


class TaskOutcome(StrEnum):
    """What a completed task did to the workspace (set only once it completed)."""

    CHANGED = "changed"
    #: The agent ended well but no file changed (``agent_errors`` says what it reported).
    NO_CHANGES = "no_changes"


class LockType(StrEnum):
    """An exclusive lease excludes every other lease on the path; shared ones coexist."""

    EXCLUSIVE = "exclusive"
    SHARED = "shared"


class ChangeKind(StrEnum):
    """What a change set did to one file."""

    MODIFY = "modify"
    CREATE = "create"
    DELETE = "delete"
    RENAME = "rename"
