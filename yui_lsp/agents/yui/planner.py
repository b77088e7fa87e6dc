"""Yui the planner: a request becomes a :class:`PlanDraft` (tasks, agents, claims,
dependencies) from the configured model, grounded in the repository's file list.

The draft is not trusted: the caller validates it (yui_lsp/coordinator/planning.py) before
anyone reviews or runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
from pydantic import BaseModel, Field
from pydantic_ai import (
    Agent,
    ModelAPIError,
    ModelHTTPError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UsageLimits,
)

from yui_lsp.agents.base import Limits
from yui_lsp.agents.limits import within_wall
from yui_lsp.agents.yui.models import build_model, model_settings
from yui_lsp.agents.yui.plan_draft import PlanDraft, PlanRequest
from yui_lsp.config import YuiModelConfig
from yui_lsp.errors import AgentFailedError

INSTRUCTIONS = """\
You are Yui, planning work for several coding agents that run in parallel on one repository. \
Split the request into a few independent tasks (usually 2 to 6), each small enough for one \
agent. For each task give the agent, complete instructions, the files or globs it will \
change (claims: repository-relative, inside the repository, not overlapping with tasks that \
may run at the same time) and the ids of the tasks it must wait for. Ground every path in \
the repository's file list; new files go where similar files already are. No dependency \
cycles. Tests and docs usually come after the code they cover.
"""


async def draft_plan(
    request: PlanRequest, config: YuiModelConfig, env: Mapping[str, str] | None = None
) -> PlanDraft:
    """Ask the model for a plan; AgentFailedError / AgentUnavailableError when it cannot."""
    return await _ask(request.user_prompt(), INSTRUCTIONS, PlanDraft, config, env)


Answer = TypeVar("Answer", bound=BaseModel)


async def _ask(prompt: str, instructions: str, output: type[Answer], config: YuiModelConfig,
               env: Mapping[str, str] | None) -> Answer:
    """One structured answer of the model (a few requests at most: output retries)."""
    model = await anyio.to_thread.run_sync(build_model, config, env)
    agent = Agent(model, instructions=instructions, output_type=output, retries=2)
    try:
        result = await agent.run(
            prompt, model_settings=model_settings(config),
            usage_limits=UsageLimits(request_limit=4, total_tokens_limit=config.token_budget),
        )
    except ModelHTTPError as exc:
        raise AgentFailedError(
            f"the planner's model failed (HTTP {exc.status_code}): {exc.message}"
        ) from None
    except ModelAPIError as exc:
        raise AgentFailedError(f"the planner's model could not be reached: {exc.message}") \
            from None
    except (UnexpectedModelBehavior, UsageLimitExceeded) as exc:
        raise AgentFailedError(f"the planner's model gave no usable plan: {exc}") from None
    return result.output


class TaskLinks(BaseModel):
    """Dependencies and claims of one task of a given list (a spec's tasks.md)."""

    id: str = Field(description="The task's id as given.")
    depends_on: list[str] = Field(default_factory=list, description="Ids to finish first.")
    claims: list[str] = Field(default_factory=list,
                              description="Repository-relative files or globs it changes.")
    reason: str = Field(default="", description="Why, in a few words.")


class LinksAnswer(BaseModel):
    """``{"tasks": [{"id", "depends_on", "claims", "reason"}]}``."""

    tasks: list[TaskLinks]


class Prompted(Protocol):
    """Anything carrying the planner's prompt (the spec runner's PlanRequest)."""

    @property
    def prompt(self) -> str: ...


_LINKS_INSTRUCTIONS = (
    "You plan the parallel execution of a given task list. Change nothing. Answer for every "
    "task id you are given: the ids that must finish first and the files or globs it will "
    "change."
)


@dataclass
class ModelPlanner:
    """Yui's model as a spec planner: ``name`` and ``propose(request)`` answering the spec
    runner's JSON (``{"tasks": [{"id", "depends_on", "claims", "reason"}]}``), which the spec
    runner validates like any planner's answer."""

    config: YuiModelConfig
    env: Mapping[str, str] = field(default_factory=dict)
    name: str = "yui"
    #: Its time limit (``agents.limits.limits_for``), over all its requests together.
    limits: Limits = field(default_factory=Limits)

    async def propose(self, request: Prompted) -> dict[str, Any]:
        async with within_wall(self.limits, "Yui's planner"):
            answer = await _ask(request.prompt, _LINKS_INSTRUCTIONS, LinksAnswer,
                                self.config, self.env)
        return answer.model_dump()
