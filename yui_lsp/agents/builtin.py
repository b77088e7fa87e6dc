"""The coordinator's own workers, no LLM needed: ``refactor``, ``shell`` and ``yui``.

``refactor`` is the exact literal or regex replacement of :func:`refactor_texts`; it needs no
sandbox, so the coordinator applies it to the workspace's current text itself (a ``refactor``
task, or a ``yui`` task carrying a refactor spec, never reaches an adapter). ``shell`` runs a
command (formatter, codemod, generator) in the sandbox through the runner; ``yui`` runs the
task's command if it has one, and otherwise hands the task's prompt to Yui's model-backed
worker (yui_lsp/agents/yui/).
"""

from __future__ import annotations

import re
from pathlib import Path

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.bounded_regex import sub_many
from yui_lsp.agents.cli import exit_error
from yui_lsp.agents.runner import run_agent_process
from yui_lsp.agents.yui import run_model_worker
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError
from yui_lsp.protocol import RefactorSpec


def refactor_text(text: str, spec: RefactorSpec) -> tuple[str, int]:
    """``text`` with ``spec`` applied, and how many replacements were made.

    Raises AgentFailedError for an invalid regex, PlanError for a runaway one.
    """
    return refactor_texts([("text", text)], spec).get("text", (text, 0))


def refactor_texts(
    texts: list[tuple[str, str]], spec: RefactorSpec
) -> dict[str, tuple[str, int]]:
    """``{name: (new text, replacements)}`` for the ``(name, text)`` pairs ``spec`` changes.

    A regex runs in a child process with a time budget (see :mod:`bounded_regex`), all texts
    in one batch; a literal replacement runs here.
    """
    if not spec.regex:
        changed = {}
        for name, text in texts:
            count = text.count(spec.pattern)
            if count:
                changed[name] = (text.replace(spec.pattern, spec.replacement), count)
        return changed
    problem = regex_problem(spec)
    if problem is not None:
        raise AgentFailedError(
            f"invalid refactor pattern {spec.pattern!r} or replacement {spec.replacement!r}: "
            f"{problem} (fix them, or drop --regex to replace the text literally)"
        )
    return sub_many(spec.pattern, spec.replacement, texts)


def regex_problem(spec: RefactorSpec) -> str | None:
    """What is wrong with a regex refactor's pattern or replacement (None: nothing)."""
    if not spec.regex:
        return None
    try:
        # Compiling (and a replacement on no text, which parses the template) is never slow.
        re.compile(spec.pattern, re.MULTILINE).sub(spec.replacement, "")
    except (re.error, IndexError, OverflowError) as exc:  # IndexError: an unknown group
        return str(exc)
    return None


class ShellAdapter:
    """Runs the task's argv in the sandbox through the runner (kind ``shell``)."""

    kind = "shell"

    def check_available(self, profile: AgentProfile) -> None:
        """Always available: the command comes with each task and is checked when it runs."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = run.task.command or run.profile.command
        if not argv:
            raise AgentFailedError("the shell worker needs a command (task.command argv)")
        argv = [*argv, *run.profile.args]
        outcome = await run_agent_process(run, argv)
        name = Path(argv[0]).name
        if outcome.exit_code != 0:
            raise exit_error(name, outcome)
        # What it said on stderr is the hint when it changed nothing (a wrongly split argv).
        complaints = [line for line in outcome.sink.tails["stderr"] if line.strip()][-5:]
        return AgentOutcome(
            summary=outcome.sink.last("stdout", 1) or f"{name} finished",
            metrics={"duration_s": round(outcome.duration_s, 3)},
            failures=complaints,
        )


class YuiAdapter:
    """The coordinator's own worker: the task's command if it has one, else Yui's
    model-backed worker on the task's prompt (a refactor spec is applied by the coordinator)."""

    kind = "yui"

    def __init__(self) -> None:
        self._shell = ShellAdapter()

    def check_available(self, profile: AgentProfile) -> None:
        """Always available."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        if run.task.command:
            return await self._shell.run(run)
        return await run_model_worker(run)
