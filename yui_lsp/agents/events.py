"""Adapters of CLIs that print one JSON event per line (Claude Code, Codex, Gemini CLI).

A subclass says how to build the command line and what each event means; this base runs the
process, feeds it the events, refuses reported writes outside the sandbox and turns "ran but
never finished a turn" into a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.cli import CliAdapter, exit_error, refuse_escapes, sort_reported
from yui_lsp.agents.cmdline import is_long
from yui_lsp.agents.output import ProgressReporter, Stream
from yui_lsp.agents.runner import ProcessOutcome, run_agent_process
from yui_lsp.errors import AgentFailedError
from yui_lsp.redact import redact

Event = dict[str, Any]


@dataclass
class StreamState:
    """What the events of one run said so far."""

    run: AgentRun
    progress: ProgressReporter
    reported: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    #: The final event (result / turn.completed) was seen.
    finished: bool = False
    #: The agent said the run failed, and why.
    error: str | None = None
    #: Non-fatal complaints (retries, warnings), kept for the error message.
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    def file(self, path: str, verb: str = "Edit") -> None:
        """The agent says it changed ``path`` (absolute or relative to the workdir)."""
        self.reported.append(path)
        self.progress.file(_display(self.run, path))
        self.progress.activity(f"{verb} {_display(self.run, path)}", step=True)


def _display(run: AgentRun, path: str) -> str:
    root = str(run.workdir.resolve()) + "/"
    return path[len(root):] if path.startswith(root) else path


class JsonEventsAdapter(CliAdapter):
    """Base of the JSON-lines adapters."""

    #: Name of the event that proves a turn completed, for the "did nothing" message.
    final_event = "result"

    def argv(self, run: AgentRun) -> list[str]:
        """The full command line for ``run``."""
        raise NotImplementedError

    #: Whether the agent documents reading its prompt from stdin: a long prompt goes there.
    long_prompt_on_stdin = False

    def stdin(self, run: AgentRun) -> bytes | None:
        """What the agent reads on stdin (None: nothing, stdin is /dev/null)."""
        if self.long_prompt_on_stdin and is_long(run.task.prompt):
            return run.task.prompt.encode("utf-8")
        return None

    def on_event(self, event: Event, state: StreamState) -> None:
        """Update ``state`` from one event."""
        raise NotImplementedError

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = self.argv(run)
        name = Path(argv[0]).name
        state = StreamState(run=run, progress=ProgressReporter(run))

        def on_line(stream: Stream, text: str) -> None:
            if stream != "stdout" or not text.startswith("{"):
                return
            try:
                event = json.loads(text)
            except json.JSONDecodeError:
                return  # a line that merely looks like JSON: narration, not an event
            if isinstance(event, dict):
                self.on_event(event, state)

        outcome = await run_agent_process(run, argv, on_line=on_line, progress=state.progress,
                                          stdin=self.stdin(run))
        inside, outside = sort_reported(run, state.reported)
        refuse_escapes(name, outside)
        self.check_finished(name, outcome, state)
        state.metrics["duration_s"] = round(outcome.duration_s, 3)
        return AgentOutcome(files_reported=inside, summary=state.summary, metrics=state.metrics,
                            failures=[w for w in state.warnings if w][-10:])

    def check_finished(self, name: str, outcome: ProcessOutcome, state: StreamState) -> None:
        """Raise AgentFailedError unless the run ended well."""
        if state.error is not None:
            raise AgentFailedError(f"{name} reported a failure: {redact(state.error[:500])}")
        if outcome.exit_code != 0:
            raise exit_error(name, outcome)
        if not state.finished:
            why = state.warnings[-1] if state.warnings else outcome.sink.last("stderr")
            raise AgentFailedError(
                f"{name} exited 0 without a {self.final_event!r} event: no proof a turn ran"
                + (f" (last message: {redact(why[:300])})" if why else "")
            )


def number(value: Any) -> float | None:
    """``value`` as a float when it is a number (JSON ints and floats), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
