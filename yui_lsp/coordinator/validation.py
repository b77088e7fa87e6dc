"""Plan and task validation, in one place: what the CLI checks before a run and what the
coordinator checks at submission are the same rules with the same messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from pathlib import Path

from yui_lsp.agents import adapter_for, check_model_task, uses_model
from yui_lsp.agents.builtin import regex_problem
from yui_lsp.agents.cli import check_program
from yui_lsp.agents.kinds import KINDS, Takes
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.coordinator import dag
from yui_lsp.coordinator.pipeline import is_direct, profile_for
from yui_lsp.errors import PathOutsideWorkspaceError, PlanError
from yui_lsp.protocol import Task
from yui_lsp.workspace import resolve_inside, validate_claims
from yui_lsp.workspace.paths import literal_heads

#: How a refused task is told what its agent needs (what each kind accepts is in KINDS).
_NEEDS: dict[Takes, str] = {
    "prompt": "a prompt",
    "command": "`command = [argv...]`",
    "refactor": "`refactor = {pattern, replacement}`",
}


def check_plan(tasks: list[Task], known: Container[str] = (), where: str = "") -> None:
    """Refuse ids used twice (here or in ``known``), malformed globs, unknown dependencies
    and cycles. ``where`` (a file name) prefixes the message."""
    prefix = f"{where}: " if where else ""
    ids = [t.id for t in tasks if t.id]
    duplicates = {i for i, n in Counter(ids).items() if n > 1} | {i for i in ids if i in known}
    if duplicates:
        raise PlanError(f"{prefix}task id {sorted(duplicates)[0]!r} is used twice")
    for task in tasks:
        try:
            validate_claims(task.claims)
            if task.refactor is not None:
                validate_claims(task.refactor.files)
                if (problem := regex_problem(task.refactor)) is not None:
                    raise PlanError(f"refactor: invalid regex pattern or replacement: {problem}")
        except PlanError as exc:
            raise PlanError(f"{prefix}task {task.id or task.display_title!r}: {exc}") from None
    try:
        dag.validate({t.id: list(t.depends_on) for t in tasks}, known=known)
    except PlanError as exc:
        if not prefix:
            raise
        raise PlanError(f"{prefix}{exc}") from None


def check_task(task: Task, settings: Settings, root: Path) -> AgentProfile:
    """Refuse a task that cannot run here; return the agent profile it will run with.

    Looks up executables (file system): call it from a worker thread on a busy loop.
    """
    check_inside(task, root)
    profile = profile_for(task, settings)
    kind = KINDS[profile.kind]
    if profile.kind == "yui" and uses_model(task):
        check_model_task(task, profile)  # a prompt, and a model to follow it
    carried = {"prompt": bool(task.prompt.strip()), "command": bool(task.command),
               "refactor": task.refactor is not None}
    if not any(carried[what] for what in kind.accepts):
        raise PlanError(f"task {task.id!r}: agent {task.agent!r} needs {_NEEDS[kind.takes]}")
    # On a cluster the executable and the program must be on the node; the node says so.
    if is_direct(task, profile) or settings.executor != "local":
        return profile
    adapter_for(profile).check_available(profile)
    if "command" in kind.accepts and task.command:
        check_program(task.command[0], root, f"task {task.id!r}")
    return profile


def check_inside(task: Task, root: Path) -> None:
    """Refuse claims and files whose fixed part leaves ``root``: ``..``, or a symlink to a
    folder outside, in any brace alternative. Looks at the disk."""
    fields = {"claims": task.claims, "files": task.files,
              "refactor.files": task.refactor.files if task.refactor else []}
    for name, paths in fields.items():
        for index, path in enumerate(paths):
            for head in literal_heads(path):
                try:
                    if head:
                        resolve_inside(root, head)
                except PathOutsideWorkspaceError as exc:
                    raise PathOutsideWorkspaceError(
                        path, f"{root} ({name}.{index} of task {task.display_title!r})") \
                        from exc
