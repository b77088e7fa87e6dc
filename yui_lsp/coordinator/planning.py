"""Yui's planner from the coordinator's side: ground a request in the repository, ask the
model for a plan, and accept it only when it is sound.

:func:`plan_with_yui` is the one entry point every front end uses (``yui plan``, ``yui
develop --plan``, the ``yui.plan`` command) and the spec runner can use for ``--planner
yui``. :func:`check_draft` is the validation on its own: unknown agents, claims outside the
repository, malformed ids or globs, unknown dependencies and cycles are refused with the
reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
from pydantic import ValidationError

from yui_lsp.agents import check_model_task, resolve_profile
from yui_lsp.agents.limits import limits_for, within_wall
from yui_lsp.agents.yui.plan_draft import PlanDraft, PlanRequest
from yui_lsp.config import Settings
from yui_lsp.coordinator.validation import check_plan
from yui_lsp.errors import PathOutsideWorkspaceError, PlanError, UnknownAgentError
from yui_lsp.protocol import Plan, Task
from yui_lsp.workspace.gitcmd import git, is_git_root, split_z
from yui_lsp.workspace.paths import literal_heads, resolve_inside, validate_claims

#: Most file paths shown to the planner (the rest are counted).
FILES_SHOWN = 2000
_SKIP_DIRS = frozenset({".git", ".yui", "node_modules", ".venv", "__pycache__"})


def repository_files(root: Path, limit: int = FILES_SHOWN) -> tuple[list[str], int]:
    """Up to ``limit`` repository-relative files (git's view when it is a repository: tracked
    and untracked-but-not-ignored), sorted, and how many more there are."""
    if is_git_root(root):
        out = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root)
        files = sorted({p for p in split_z(out.stdout) if not p.startswith(".yui/")})
    else:
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            files += [Path(folder, n).relative_to(root).as_posix() for n in sorted(names)]
    return files[:limit], max(0, len(files) - limit)


def known_agents(settings: Settings) -> list[str]:
    """Every agent name that resolves to a profile."""
    from yui_lsp.agents import builtin_profiles

    return sorted({*builtin_profiles(), *settings.agents})


async def plan_with_yui(
    prompt: str,
    root: Path,
    settings: Settings,
    *,
    agents: list[str] | None = None,
    max_workers: int | None = None,
) -> Plan:
    """A validated plan for ``prompt`` from Yui's model, using only ``agents``.

    Raises PlanError (no prompt, an unsound plan, with the reason), UnknownAgentError,
    AgentUnavailableError (no model configured) or AgentFailedError (the model failed).
    """
    if not prompt.strip():
        raise PlanError('say what to plan: yui plan "WHAT TO BUILD"')
    allowed = list(dict.fromkeys(agents or ["yui", *settings.agents]))
    known = known_agents(settings)
    for name in allowed:
        if name not in known:
            raise UnknownAgentError(name, known)
    profile = resolve_profile("yui", settings)
    planning = Task(id="plan", prompt=prompt, agent="yui")
    check_model_task(planning, profile)
    files, omitted = await anyio.to_thread.run_sync(repository_files, root)
    request = PlanRequest(prompt=prompt, files=files, agents=allowed, files_omitted=omitted)

    from yui_lsp.agents.yui.planner import draft_plan

    assert profile.yui is not None
    async with within_wall(limits_for(planning, profile, settings), "Yui's planner"):
        draft = await draft_plan(request, profile.yui, {**os.environ, **profile.env})
    return check_draft(draft, root, allowed, max_workers)


def check_draft(
    draft: PlanDraft, root: Path, allowed: list[str], max_workers: int | None = None
) -> Plan:
    """``draft`` as a Plan, or PlanError saying what is wrong with it."""
    if not draft.tasks:
        raise PlanError("the planner returned no tasks; say more precisely what to build")
    tasks: list[Task] = []
    for index, item in enumerate(draft.tasks, start=1):
        where = f"planned task {item.id or index!r}"
        if item.agent not in allowed:
            raise PlanError(f"{where} uses agent {item.agent!r}, which is not one of the "
                            f"agents allowed: {', '.join(allowed)}")
        for claim in item.claims:
            try:
                for head in literal_heads(claim):
                    if head:
                        resolve_inside(root, head)
                validate_claims([claim])
            except PathOutsideWorkspaceError:
                raise PlanError(f"{where} claims {claim!r}, which is outside the repository") \
                    from None
            except PlanError as exc:
                raise PlanError(f"{where}: {exc}") from None
        try:
            tasks.append(Task(id=item.id, title=item.title, agent=item.agent,
                              prompt=item.prompt, claims=item.claims,
                              depends_on=item.depends_on))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise PlanError(f"{where}: {field}: {err['msg']}") from None
    check_plan(tasks, where="the planned tasks")
    return Plan.model_validate({"max_workers": max_workers, "tasks": tasks})
