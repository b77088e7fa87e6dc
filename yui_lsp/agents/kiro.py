"""Kiro CLI headless: ``kiro-cli chat --no-interactive --trust-all-tools [...] PROMPT``.

Kiro has no machine-readable output: stdout is narration, and the stderr trailer
``▸ Credits: 0.21 • Time: 17s`` is the only proof a turn ran. Two failure modes look like
success or like work and must not: with no credential Kiro starts a device-login flow and
waits forever (even with ``--no-interactive``); with a bad credential it exits 0 with an
empty stdout and an auth complaint on stderr.
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
from yui_lsp.errors import AgentFailedError
from yui_lsp.redact import redact

NOT_SIGNED_IN = "Kiro CLI is not signed in: set KIRO_API_KEY or run `kiro-cli login`"

_CREDITS = re.compile(
    r"Credits:\s*(?P<credits>[\d.]+).*?Time:\s*(?P<time>[\d.]+)\s*(?P<unit>ms|s|m)?", re.I
)
# The device-authorization flow: a verification URL and a one-time user code.
_DEVICE_LOGIN = re.compile(
    r"device[ _-]?(?:code|login|authori[sz]ation)|verification[ _]ur[il]|user[ _]code"
    r"|/device\b|enter (?:the|this) code|open (?:this|the following) (?:url|link)",
    re.I,
)
_AUTH_FAILED = re.compile(
    r"unauthori[sz]ed|invalid (?:api[ _]?key|credential|token)|authentication (?:failed|error)"
    r"|not authenticated|401\b|403\b|forbidden|expired (?:token|credential)|api key",
    re.I,
)
# Narration of file tools, e.g. "Creating: src/a.py", "● Replacing: /abs/b.py".
_FILE_TOOL = re.compile(
    r"(?:Creating|Writing|Updating|Replacing|Appending to|Editing|Deleting)(?: file)?:"
    r"\s*(?P<path>\S+)",
    re.I,
)


def parse_credits(line: str) -> dict[str, float] | None:
    """``{credits, time_s}`` from a ``▸ Credits: N • Time: Ns`` trailer line, else None."""
    match = _CREDITS.search(line)
    if match is None:
        return None
    seconds = float(match["time"])
    unit = (match["unit"] or "s").lower()
    seconds = seconds / 1000 if unit == "ms" else seconds * 60 if unit == "m" else seconds
    return {"credits": float(match["credits"]), "time_s": seconds}


class KiroAdapter(CliAdapter):
    """Kiro CLI in headless chat mode (kind ``kiro``)."""

    kind = "kiro"

    def argv(self, run: AgentRun) -> list[str]:
        """The full command line for ``run`` (the prompt is one argv element)."""
        profile = run.profile
        argv = [*command_of(profile), "chat", "--no-interactive", "--trust-all-tools"]
        if profile.agent_name:
            argv += ["--agent", profile.agent_name]
        if profile.model:
            argv += ["--model", profile.model]
        return [*argv, *profile.args, run.task.prompt]

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = self.argv(run)
        name = Path(argv[0]).name
        progress = ProgressReporter(run)
        metrics: dict[str, float] = {}
        reported: list[str] = []
        auth_lines: list[str] = []
        stdout_lines = 0

        def on_line(stream: Stream, text: str) -> None:
            nonlocal stdout_lines
            if stream == "stdout" and text.strip():
                stdout_lines += 1
            if _DEVICE_LOGIN.search(text):
                # Kiro would wait for a browser sign-in forever: stop it now.
                raise AgentFailedError(NOT_SIGNED_IN)
            found = parse_credits(text)
            if found is not None:
                metrics.update(found)
            elif stream == "stderr" and _AUTH_FAILED.search(text):
                auth_lines.append(text.strip())
            tool = _FILE_TOOL.search(text)
            if tool is not None:
                path = tool["path"].strip("`'\"")
                reported.append(path)
                progress.file(workdir_relative(run, path) or path)
                progress.activity(text.strip(), step=True)
            elif stream == "stdout" and text.strip():
                progress.activity(text.strip())

        outcome = await run_agent_process(run, argv, on_line=on_line, progress=progress)
        inside, outside = sort_reported(run, reported)
        refuse_escapes(name, outside)
        code = outcome.exit_code
        if code == 3:
            raise exit_error(
                name, outcome, "a required MCP server failed to start: check the MCP servers "
                "of the Kiro agent (`kiro-cli mcp list`)",
            )
        if code == 4:
            agent = run.profile.agent_name or "(default)"
            raise AgentFailedError(
                f"Kiro agent {agent!r} not found (exit 4): create it with `kiro-cli agent "
                "create` or fix `agent_name` in the profile"
            )
        if code != 0:
            raise exit_error(name, outcome)
        if auth_lines and (stdout_lines == 0 or not metrics):
            raise AgentFailedError(
                f"Kiro CLI rejected its credential ({redact(auth_lines[-1][:300])}): check "
                "KIRO_API_KEY or run `kiro-cli login`"
            )
        if not metrics:
            said = outcome.sink.last("stderr") or outcome.sink.last("stdout") or "none"
            raise AgentFailedError(
                f"{name} exited 0 but printed no credits trailer: no proof a turn ran "
                f"(last output: {said})"
            )
        metrics["duration_s"] = round(outcome.duration_s, 3)
        return AgentOutcome(
            files_reported=inside,
            summary=outcome.sink.last("stdout", 1),
            metrics=metrics,
        )
