"""Aider: ``aider --message PROMPT --yes --no-auto-commits FILES``.

Plain-text output: ``Applied edit to PATH`` for every file it changed, and a cost line
``Tokens: 2.1k sent, 310 received. Cost: $0.01 message, $0.03 session.``
"""

from __future__ import annotations

import re
from pathlib import Path

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.cli import (
    CliAdapter,
    command_of,
    exit_error,
    refuse_escapes,
    sort_reported,
    workdir_relative,
)
from yui_lsp.agents.output import ProgressReporter, Stream
from yui_lsp.agents.runner import run_agent_process

_APPLIED = re.compile(r"^Applied edit to (?P<path>.+?)\s*$")
_COST = re.compile(r"Cost:\s*\$(?P<message>[\d.]+)\s*message,\s*\$(?P<session>[\d.]+)\s*session")


class AiderAdapter(CliAdapter):
    """Aider in one-shot message mode (kind ``aider``)."""

    kind = "aider"

    def argv(self, run: AgentRun) -> list[str]:
        """Command line: the prompt, no commits (yui integrates), the task's files."""
        argv = [*command_of(run.profile), "--message", run.task.prompt, "--yes",
                "--no-auto-commits"]
        if run.profile.model:
            argv += ["--model", run.profile.model]
        files = list(dict.fromkeys([*run.task.files, *_plain(run.task.claims)]))
        return [*argv, *run.profile.args, *files]

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = self.argv(run)
        name = Path(argv[0]).name
        progress = ProgressReporter(run)
        reported: list[str] = []
        metrics: dict[str, float] = {}

        def on_line(stream: Stream, text: str) -> None:
            applied = _APPLIED.match(text)
            if applied:
                path = applied["path"]
                reported.append(path)
                progress.file(workdir_relative(run, path) or path)
                progress.activity(text, step=True)
                return
            cost = _COST.search(text)
            if cost:
                metrics["cost_usd"] = float(cost["session"])
                metrics["turns"] = metrics.get("turns", 0.0) + 1
            elif text.strip():
                progress.activity(text.strip())

        outcome = await run_agent_process(run, argv, on_line=on_line, progress=progress)
        inside, outside = sort_reported(run, reported)
        refuse_escapes(name, outside)
        if outcome.exit_code != 0:
            raise exit_error(name, outcome)
        metrics["duration_s"] = round(outcome.duration_s, 3)
        return AgentOutcome(
            files_reported=inside, summary=outcome.sink.last("stdout", 1), metrics=metrics
        )


def _plain(claims: list[str]) -> list[str]:
    """Claims that are plain file paths (aider takes files, not globs)."""
    return [c for c in claims if not any(ch in c for ch in "*?[") and not c.endswith("/")]
