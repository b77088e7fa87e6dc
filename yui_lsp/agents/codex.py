"""Codex: ``codex exec --json --sandbox workspace-write --skip-git-repo-check PROMPT``.

JSONL events: ``thread.started``, ``turn.started``, ``item.started``/``item.completed``
(items: ``file_change`` with ``changes[].path``, ``command_execution``, ``agent_message``,
``reasoning``, ``error``), ``turn.completed`` with token usage, ``turn.failed`` with an
error, and top-level ``error`` (often a retry notice).
"""

from __future__ import annotations

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.cli import command_of
from yui_lsp.agents.cmdline import is_long
from yui_lsp.agents.events import Event, JsonEventsAdapter, StreamState, number


class CodexAdapter(JsonEventsAdapter):
    """Codex CLI in exec mode (kind ``codex``)."""

    kind = "codex"
    long_prompt_on_stdin = True
    final_event = "turn.completed"

    def argv(self, run: AgentRun) -> list[str]:
        argv = [
            *command_of(run.profile), "exec", "--json", "--sandbox", "workspace-write",
            "--skip-git-repo-check",
        ]
        if run.profile.model:
            argv += ["--model", run.profile.model]
        # `codex exec -` reads the prompt from stdin: a long one cannot be an argument.
        return [*argv, *run.profile.args, "-" if is_long(run.task.prompt) else run.task.prompt]

    def on_event(self, event: Event, state: StreamState) -> None:
        kind = event.get("type")
        item = event.get("item") if isinstance(event.get("item"), dict) else None
        if kind in ("item.started", "item.completed") and item is not None:
            self._item(kind, item, state)
        elif kind == "turn.completed":
            state.finished = True
            state.metrics["turns"] = state.metrics.get("turns", 0.0) + 1
            usage = event.get("usage") if isinstance(event.get("usage"), dict) else {}
            assert isinstance(usage, dict)
            for key in ("input_tokens", "output_tokens"):
                value = number(usage.get(key))
                if value is not None:
                    state.metrics[key] = state.metrics.get(key, 0.0) + value
        elif kind == "turn.failed":
            error = event.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            state.error = str(message or "turn failed")
        elif kind == "error":
            state.warnings.append(str(event.get("message", "")))
            state.progress.activity(str(event.get("message", ""))[:200])

    def _item(self, kind: str, item: Event, state: StreamState) -> None:
        item_type = item.get("type")
        if item_type == "file_change" and kind == "item.completed":
            if item.get("status") not in (None, "completed"):
                state.warnings.append(f"a file change was {item.get('status')}")
                return
            for change in item.get("changes") or []:
                if isinstance(change, dict) and isinstance(change.get("path"), str):
                    state.file(change["path"], str(change.get("kind", "update")))
        elif item_type == "command_execution":
            verb = "ran" if kind == "item.completed" else "running"
            state.progress.activity(f"{verb} {str(item.get('command', ''))[:150]}", step=True)
        elif item_type == "agent_message" and kind == "item.completed":
            state.summary = str(item.get("text", ""))
            state.progress.activity(state.summary.strip()[:200])
