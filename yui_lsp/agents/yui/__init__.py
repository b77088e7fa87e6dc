"""Yui's own model-backed worker and planner, on pydantic-ai.

The only part of yui that imports pydantic-ai, and only when a model is actually used:
importing this package is cheap. Public face: :func:`check_model_task` (submission-time
check), :func:`run_model_worker` (one attempt: ``AgentRun -> AgentOutcome``) and
:func:`model_planner` (the planner as the spec runner calls planners; the whole-request
planner is ``yui_lsp.coordinator.planning.plan_with_yui``).
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentUnavailableError, PlanError
from yui_lsp.protocol import Task

if TYPE_CHECKING:
    from yui_lsp.agents.base import AgentOutcome, AgentRun, Limits
    from yui_lsp.agents.yui.planner import ModelPlanner


def uses_model(task: Task) -> bool:
    """True when a ``yui`` task is model work (no command to run, no refactor to apply)."""
    return not task.command and task.refactor is None


def check_model_task(task: Task, profile: AgentProfile) -> None:
    """Refuse, in one line, a model task that cannot run: no prompt, no model, no key."""
    if not task.prompt.strip():
        raise PlanError(
            f"task {task.id!r}: the yui agent needs a prompt (or a `command` / `refactor` to run "
            "without a model)"
        )
    problem = model_problem(profile)
    if problem is not None:
        raise AgentUnavailableError(problem)


def model_problem(profile: AgentProfile) -> str | None:
    """Why ``profile``'s model cannot be used here (one line), or None when it can."""
    from yui_lsp.agents.yui.config_check import configuration_problem

    problem = configuration_problem(profile.yui, {**os.environ, **profile.env})
    if problem is None and importlib.util.find_spec("pydantic_ai") is None:
        problem = ("the yui agent needs pydantic-ai, which is not installed: "
                   "pip install 'yui-lsp[yui]'")
    return problem


async def run_model_worker(run: AgentRun) -> AgentOutcome:
    """Run one attempt of a model task in ``run.workdir`` with Yui's configured model."""
    from yui_lsp.agents.yui.worker import ModelWorker

    return await ModelWorker().run(run)


def model_planner(profile: AgentProfile, limits: Limits) -> ModelPlanner:
    """Yui's model as a planner for the spec runner's ``--planner yui`` (``profile``: the
    resolved ``yui`` profile; ``limits``: its time limit); AgentUnavailableError, in one
    line, when it cannot run."""
    check_model_task(Task(id="plan", prompt="plan", agent="yui"), profile)
    from yui_lsp.agents.yui.planner import ModelPlanner

    assert profile.yui is not None
    return ModelPlanner(profile.yui, {**os.environ, **profile.env}, limits=limits)


__all__ = [
    "check_model_task", "model_planner", "model_problem", "run_model_worker", "uses_model",
]
