"""Any command as an agent (kind ``command``): ``profile.command + args + [PROMPT]``.

For tools yui has no dedicated adapter for: the prompt is appended as one argv element, the
output is streamed like every agent's, and a non-zero exit is a failure.
"""

from __future__ import annotations

from pathlib import Path

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.cli import CliAdapter, command_of, exit_error
from yui_lsp.agents.output import ProgressReporter
from yui_lsp.agents.runner import run_agent_process


class CommandAdapter(CliAdapter):
    """A user-defined command that takes the prompt as its last argument."""

    kind = "command"

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = [*command_of(run.profile), *run.profile.args]
        if run.task.prompt:
            argv.append(run.task.prompt)
        outcome = await run_agent_process(run, argv, progress=ProgressReporter(run))
        if outcome.exit_code != 0:
            raise exit_error(Path(argv[0]).name, outcome)
        return AgentOutcome(
            summary=outcome.sink.last("stdout", 1),
            metrics={"duration_s": round(outcome.duration_s, 3)},
        )
