"""Yui the planner: a request becomes a :class:`PlanDraft` (tasks, agents, claims,
dependencies) from the configured model, grounded in the repository's file list.

The draft is not trusted: the caller validates it (yui_lsp/coordinator/planning.py) before
anyone reviews or runs it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_ai import (
    Agent,
    ModelAPIError,
    ModelHTTPError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UsageLimits,
)

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
    model = build_model(config, env)
    agent = Agent(model, instructions=INSTRUCTIONS, output_type=PlanDraft, retries=2)
    try:
        result = await agent.run(
            request.user_prompt(), model_settings=model_settings(config),
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
