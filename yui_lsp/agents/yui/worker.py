"""Yui's own coding worker: a pydantic-ai agent whose tools act on the task's sandbox.

:class:`ModelWorker` has the same face as every other adapter (``run(AgentRun) ->
AgentOutcome``), so it runs wherever an attempt runs. The model call is streamed; each model
turn and each tool call becomes progress, the token usage goes into the progress message and
the task's metrics. The turn budget (``max_turns``) and the token budget end a model that
loops, with a clear failure. Cancellation is anyio's: it ends the model call in flight and any
command the model started (its process group).
"""

from __future__ import annotations

import time

import anyio
from pydantic_ai import (
    Agent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelAPIError,
    ModelHTTPError,
    ModelRequestTimeout,
    ModelTimeoutError,
    RunContext,
    Tool,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UsageLimits,
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.usage import RunUsage

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.output import OutputSink, ProgressReporter
from yui_lsp.agents.runner import child_env
from yui_lsp.agents.yui.config_check import key_env_of
from yui_lsp.agents.yui.models import build_model, model_settings
from yui_lsp.agents.yui.sandbox import SandboxTools
from yui_lsp.config import YuiModelConfig
from yui_lsp.errors import AgentFailedError

INSTRUCTIONS = """\
You are Yui, a careful software engineer working on one task in a copy of the user's \
repository. Other engineers work on other parts of the repository at the same time.

Work with the tools: list_files and search to find your way, read_file before you edit, \
edit_file for small changes and write_file for new files, run_command to run the project's \
tests or build (it runs in the repository copy, with a time limit). Paths are relative to the \
repository root. Only change files your task is about; a write outside your part of the \
repository may be REFUSED because another engineer holds that file: then do not retry it, \
do without it and say so in your summary. When the task is done, stop calling tools and \
answer with a short summary of what you changed and how you checked it.
"""


async def read_file(
    ctx: RunContext[SandboxTools], path: str, offset: int = 1, limit: int = 400
) -> str:
    """Read a UTF-8 text file of the repository.

    Args:
        path: Path relative to the repository root.
        offset: First line to return (1-based).
        limit: Most lines to return.
    """
    return await ctx.deps.read_file(path, offset, limit)


async def list_files(ctx: RunContext[SandboxTools], path: str = ".", pattern: str = "*") -> str:
    """List the files under a folder, recursively (.git and dependency folders skipped).

    Args:
        path: Folder relative to the repository root.
        pattern: Shell-style pattern the file names must match, e.g. `*.py`.
    """
    return await ctx.deps.list_files(path, pattern)


async def search(
    ctx: RunContext[SandboxTools], pattern: str, path: str = ".", glob: str = "*"
) -> str:
    """Search text files for lines matching a regular expression (like ripgrep).

    Args:
        pattern: Python regular expression.
        path: Folder or file to search, relative to the repository root.
        glob: Shell-style pattern the file names must match.
    """
    return await ctx.deps.search(pattern, path, glob)


async def write_file(ctx: RunContext[SandboxTools], path: str, content: str) -> str:
    """Create a file or replace its whole content.

    Args:
        path: Path relative to the repository root.
        content: The complete new content.
    """
    return await ctx.deps.write_file(path, content)


async def edit_file(
    ctx: RunContext[SandboxTools], path: str, old: str, new: str, replace_all: bool = False
) -> str:
    """Replace an exact piece of text in a file.

    Args:
        path: Path relative to the repository root.
        old: The exact text to replace (copy it from read_file, with enough context).
        new: The text to put instead.
        replace_all: Replace every occurrence instead of exactly one.
    """
    return await ctx.deps.edit_file(path, old, new, replace_all)


async def run_command(
    ctx: RunContext[SandboxTools], command: str, timeout_s: float | None = None
) -> str:
    """Run a shell command in the repository root (tests, builds, linters); get its output.

    Args:
        command: The command line, run by /bin/sh.
        timeout_s: Stop it after this many seconds (capped by the configured limit).
    """
    return await ctx.deps.run_command(command, timeout_s)


TOOLS: list[Tool[SandboxTools]] = [
    Tool(f) for f in (read_file, list_files, search, write_file, edit_file, run_command)
]


class ModelWorker:
    """Runs one task with Yui's configured model (the ``yui`` agent without a command)."""

    kind = "yui"

    async def run(self, run: AgentRun) -> AgentOutcome:
        config = run.profile.yui or YuiModelConfig()
        # Building the client reads certificates: not on the loop that answers the editor.
        model = await anyio.to_thread.run_sync(build_model, config, child_env(run))
        agent = Agent(model, instructions=INSTRUCTIONS, deps_type=SandboxTools, tools=TOOLS,
                      retries=2)
        limits = UsageLimits(request_limit=config.max_turns,
                             total_tokens_limit=config.token_budget)
        started = time.monotonic()
        progress = ProgressReporter(run)
        with OutputSink(run) as sink:
            tools = SandboxTools(run, config, sink, progress)
            turns = 0
            try:
                async with agent.iter(
                    run.task.prompt, deps=tools, usage_limits=limits,
                    model_settings=model_settings(config),
                ) as agent_run:
                    async for node in agent_run:
                        if Agent.is_model_request_node(node):
                            turns += 1
                            progress.activity(f"model turn {turns}", step=True)
                            # Bounded by request_timeout_s: not the idle watch's to end.
                            with run.liveness.bounded_wait():
                                async with node.stream(agent_run.ctx) as stream:
                                    async for _event in stream:
                                        run.liveness.mark()
                            _report_usage(progress, turns, agent_run.usage)
                        elif Agent.is_call_tools_node(node):
                            async with node.stream(agent_run.ctx) as events:
                                async for event in events:
                                    _note_tool_event(run, sink, event)
                    result = agent_run.result
            except UsageLimitExceeded as exc:
                raise AgentFailedError(_budget_message(exc, config)) from None
            except ModelHTTPError as exc:
                raise AgentFailedError(_http_message(exc, config)) from None
            except (ModelRequestTimeout, ModelTimeoutError):
                raise AgentFailedError(
                    f"the yui agent's model {config.model!r} did not answer within "
                    f"{config.request_timeout_s:g} s (request_timeout_s under [tool.yui.yui])"
                ) from None
            except ModelAPIError as exc:
                raise AgentFailedError(
                    f"the yui agent's model {config.model!r} could not be reached: {exc.message}"
                ) from None
            except UnexpectedModelBehavior as exc:
                raise AgentFailedError(f"the yui agent's model misbehaved: {exc.message}") from None
            assert result is not None
            summary = str(result.output).strip()
            sink.line("stdout", summary or "(no summary)")
            progress.flush()
            usage = result.usage
        metrics = usage_metrics(usage, config, result.all_messages())
        metrics.update({
            "turns": float(turns),
            "duration_s": round(time.monotonic() - started, 3),
            "files_written": float(len(tools.written)),
            "commands": float(tools.commands),
        })
        if tools.refused:
            metrics["refused"] = float(len(tools.refused))
        return AgentOutcome(files_reported=tools.written, summary=summary, metrics=metrics)


def _note_tool_event(run: AgentRun, sink: OutputSink, event: object) -> None:
    if isinstance(event, FunctionToolCallEvent):
        sink.note(f"tool call {event.part.tool_name}")  # a line: a sign of life too
    elif isinstance(event, FunctionToolResultEvent):
        run.liveness.mark()


def _report_usage(progress: ProgressReporter, turns: int, usage: RunUsage) -> None:
    progress.activity(
        f"model turn {turns}: {usage.input_tokens} in / {usage.output_tokens} out tokens",
        force=True,
    )


def usage_metrics(
    usage: RunUsage, config: YuiModelConfig, messages: list[ModelMessage]
) -> dict[str, float]:
    """Token figures of a run, and its cost in USD when the prices are known."""
    metrics = {
        "input_tokens": float(usage.input_tokens),
        "output_tokens": float(usage.output_tokens),
        "requests": float(usage.requests),
        "tool_calls": float(usage.tool_calls),
    }
    if config.input_price_per_mtok is not None or config.output_price_per_mtok is not None:
        cost = (usage.input_tokens * (config.input_price_per_mtok or 0.0)
                + usage.output_tokens * (config.output_price_per_mtok or 0.0)) / 1e6
        metrics["cost_usd"] = round(cost, 6)
        return metrics
    total = 0.0
    for message in messages:
        if not isinstance(message, ModelResponse):
            continue
        try:
            total += float(message.cost().total_price)
        except (AssertionError, LookupError, ValueError):
            return metrics  # a model genai-prices does not know: no cost rather than a guess
    metrics["cost_usd"] = round(total, 6)
    return metrics


def _budget_message(exc: UsageLimitExceeded, config: YuiModelConfig) -> str:
    text = str(exc)
    if "request" in text:
        return (f"the yui agent used its {config.max_turns} model turns without finishing "
                f"({text}); raise max_turns under [tool.yui.yui] or split the task")
    return (f"the yui agent ran out of its token budget ({text}); raise token_budget under "
            "[tool.yui.yui] or split the task")


def _http_message(exc: ModelHTTPError, config: YuiModelConfig) -> str:
    where = config.base_url or config.provider
    if exc.status_code in (401, 403):
        return (f"the yui agent's model at {where} refused the API key (HTTP {exc.status_code}):"
                f" check ${key_env_of(config) or 'the API key variable'}")
    if exc.status_code == 429:
        return (f"the yui agent's model at {where} is rate-limited (HTTP 429) after "
                f"{config.max_retries} retries; try again later or raise max_retries")
    return f"the yui agent's model at {where} failed (HTTP {exc.status_code}): {exc.message}"
