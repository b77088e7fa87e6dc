"""Errors a user can hit. Each says what happened and what to do about it.

Front ends print ``str(error)`` as one line (CLI) or turn it into a JSON-RPC error (LSP);
a ``YuiError`` never becomes a traceback in front of a user.
"""

from __future__ import annotations

import errno


class YuiError(Exception):
    """Base of every error a user can cause or fix."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 2


class ConfigError(YuiError):
    """Settings in ``[tool.yui]`` or ``.yui/config.toml`` are invalid."""


class PlanError(YuiError):
    """A plan or task definition is invalid (missing field, bad glob, invalid TOML...)."""


class DependencyCycleError(PlanError):
    """Task dependencies form a cycle; ``cycle`` lists the task ids in order."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "dependency cycle: " + " -> ".join(cycle) + " (remove one of these depends_on links)"
        )


class UnknownTaskError(YuiError):
    """A task id that no coordinator on this repository knows."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"no task with id {task_id!r} (see `yui status` for the ids)")


class UnknownAgentError(YuiError):
    """An agent name that is neither built in nor defined in ``[tool.yui.agents]``."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown agent {name!r}; known agents: {', '.join(sorted(known))} "
            f"(define it under [tool.yui.agents.{name}])"
        )


class AgentUnavailableError(YuiError):
    """The agent's executable is missing or unusable (e.g. not signed in)."""


class AgentFailedError(YuiError):
    """The agent ran but did not do its job (non-zero exit, auth failure, hang...)."""


class PathOutsideWorkspaceError(YuiError):
    """A path (or a symlink target) escapes the workspace root."""

    def __init__(self, path: str, root: str = "the workspace") -> None:
        self.path = path
        super().__init__(f"path {path!r} is outside {root}; yui only touches files inside it")


class ProtectedPathError(YuiError):
    """A change under ``.git/`` or ``.yui/``: git's data and yui's state never take one."""

    def __init__(self, paths: list[str], consequence: str) -> None:
        self.paths = paths
        shown = ", ".join(paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
        super().__init__(
            f"{shown}: no task may change anything under .git/ or .yui/ (git's data, yui's "
            f"state); {consequence}"
        )


class WorkspaceNotFoundError(YuiError):
    """The workspace folder does not exist: yui never creates one."""

    def __init__(self, root: str) -> None:
        self.root = root
        super().__init__(
            f"the workspace folder {root} does not exist or is not a folder; yui coordinates "
            "tasks only in an existing folder (open or create the folder first)"
        )


class UntrustedStateError(YuiError):
    """A file under ``.yui/`` that someone other than its owner could have written."""


class StateFileError(YuiError, OSError):
    """A file under ``.yui/`` could not be written or used (disk full, read-only, a folder
    in its place). Still an ``OSError`` with the system's errno, for code that handles those.
    """

    def __init__(self, path: str, cause: OSError, action: str = "write") -> None:
        super().__init__(cause.errno, cause.strerror)
        self.filename = path
        misplaced = cause.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST)
        advice = "move aside what is in its place" if misplaced else \
            "free disk space, or make the folder writable"
        self.message = (f"cannot {action} yui's state file {path}: {cause.strerror or cause} "
                        f"({advice}, and run again)")

    def __str__(self) -> str:
        return self.message


class LeaseError(YuiError):
    """A lease could not be taken, renewed or released."""


class ApplyError(YuiError):
    """Writing a task's result to the workspace failed; nothing was half-written."""


class DamagedJournalError(YuiError):
    """A journal or backup under ``.yui/`` that reads but does not add up.

    A crash tears a journal only before any file is touched (it is then discarded); one
    whose manifest parses yet names no usable content was changed by something else.
    """


class ExecutorUnavailableError(YuiError):
    """The configured executor cannot be used (Ray not installed, cluster unreachable)."""


class NodeLostError(AgentFailedError):
    """The cluster node running an attempt died or lost its worker; the attempt may be retried."""
