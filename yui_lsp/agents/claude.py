"""Claude Code: ``claude -p PROMPT --output-format stream-json --verbose --permission-mode
acceptEdits``.

NDJSON events: ``system/init``; ``assistant`` messages whose ``tool_use`` blocks name the
tool and its ``input`` (Edit/Write/MultiEdit/NotebookEdit carry ``file_path``); ``user``
messages with tool results; and one ``result`` with ``num_turns``, ``total_cost_usd``,
``is_error`` and the final text.
"""

from __future__ import annotations

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.cli import command_of
from yui_lsp.agents.cmdline import is_long
from yui_lsp.agents.events import Event, JsonEventsAdapter, StreamState, number

_EDIT_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path",
               "NotebookEdit": "notebook_path"}


class ClaudeAdapter(JsonEventsAdapter):
    """Claude Code in print mode (kind ``claude``)."""

    kind = "claude"
    long_prompt_on_stdin = True

    def argv(self, run: AgentRun) -> list[str]:
        # A long prompt goes on stdin (`claude -p` reads it there when none is given): a
        # command-line argument is limited to 128 KiB.
        prompt = [] if is_long(run.task.prompt) else [run.task.prompt]
        argv = [
            *command_of(run.profile), "-p", *prompt, "--output-format", "stream-json",
            "--verbose", "--permission-mode", "acceptEdits",
        ]
        if run.profile.model:
            argv += ["--model", run.profile.model]
        return [*argv, *run.profile.args]

    def on_event(self, event: Event, state: StreamState) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            state.progress.activity(f"session started ({event.get('model', 'model')})")
        elif kind == "assistant":
            for block in _content(event):
                if block.get("type") == "tool_use":
                    self._tool_use(block, state)
                elif block.get("type") == "text" and str(block.get("text", "")).strip():
                    state.progress.activity(str(block["text"]).strip().splitlines()[0])
        elif kind == "user":
            for block in _content(event):
                # A tool the agent called failed (an Edit that did not match, a denied write).
                if block.get("type") == "tool_result" and block.get("is_error"):
                    text = block.get("content")
                    if isinstance(text, list):
                        text = " ".join(str(b.get("text", "")) for b in text
                                        if isinstance(b, dict))
                    state.warnings.append(f"tool error: {str(text or '')[:300]}")
        elif kind == "result":
            state.finished = True
            state.summary = str(event.get("result") or "")
            for key, metric in (("num_turns", "turns"), ("total_cost_usd", "cost_usd"),
                                ("duration_ms", "agent_duration_ms")):
                value = number(event.get(key))
                if value is not None:
                    state.metrics[metric] = value
            if event.get("is_error") or str(event.get("subtype", "")).startswith("error"):
                state.error = state.summary or str(event.get("subtype"))

    def _tool_use(self, block: Event, state: StreamState) -> None:
        name = str(block.get("name", "tool"))
        tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
        assert isinstance(tool_input, dict)
        key = _EDIT_TOOLS.get(name)
        if key and isinstance(tool_input.get(key), str):
            state.file(tool_input[key], name)
        else:
            detail = tool_input.get("command") or tool_input.get("file_path") or ""
            state.progress.activity(f"{name} {str(detail)[:120]}".strip(), step=True)


def _content(event: Event) -> list[Event]:
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
