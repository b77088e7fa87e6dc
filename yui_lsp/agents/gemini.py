"""Gemini CLI: ``gemini -p PROMPT --output-format stream-json --approval-mode auto_edit``.

JSONL events: ``init``; ``message`` (role, content, ``delta``); ``tool_use`` (``tool_name``,
``tool_id``, ``parameters`` — file tools carry ``file_path``); ``tool_result`` (``status``);
``error``; and one ``result`` with ``status`` and ``stats``.
"""

from __future__ import annotations

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.cli import command_of
from yui_lsp.agents.events import Event, JsonEventsAdapter, StreamState, number

_FILE_TOOLS = {"write_file", "replace", "edit", "edit_file", "smart_edit", "write_todos_file"}


class GeminiAdapter(JsonEventsAdapter):
    """Gemini CLI in headless mode (kind ``gemini``)."""

    kind = "gemini"

    def argv(self, run: AgentRun) -> list[str]:
        argv = [
            *command_of(run.profile), "-p", run.task.prompt, "--output-format", "stream-json",
            "--approval-mode", "auto_edit",
        ]
        if run.profile.model:
            argv += ["--model", run.profile.model]
        return [*argv, *run.profile.args]

    def on_event(self, event: Event, state: StreamState) -> None:
        kind = event.get("type")
        if kind == "tool_use":
            name = str(event.get("tool_name", "tool"))
            params = event.get("parameters") if isinstance(event.get("parameters"), dict) else {}
            assert isinstance(params, dict)
            path = params.get("file_path") or params.get("absolute_path")
            if name in _FILE_TOOLS and isinstance(path, str):
                state.file(path, name)
            else:
                state.progress.activity(f"{name} {path or ''!s}".strip(), step=True)
        elif kind == "message" and event.get("role") == "assistant":
            text = str(event.get("content", ""))
            state.summary = state.summary + text if event.get("delta") else text
            if text.strip():
                state.progress.activity(state.summary.strip().splitlines()[-1][:200])
        elif kind == "error":
            state.warnings.append(str(event.get("message", "")))
        elif kind == "result":
            state.finished = True
            if event.get("status") not in (None, "success"):
                error = event.get("error")
                message = error.get("message") if isinstance(error, dict) else error
                state.error = str(message or event.get("status"))
            stats = event.get("stats") if isinstance(event.get("stats"), dict) else {}
            assert isinstance(stats, dict)
            for key, metric in (("total_tokens", "total_tokens"), ("tool_calls", "tool_calls"),
                                ("duration_ms", "agent_duration_ms")):
                value = number(stats.get(key))
                if value is not None:
                    state.metrics[metric] = value
