"""Every kind of agent, in one table: what it is, what a task for it carries, which adapter
runs it, which CLI it starts by default and whether it can plan a spec.

The rest is derived from :data:`KINDS`: what a profile's ``kind`` may be
(``config.AgentKind``), the adapter registry (:func:`yui_lsp.agents.registry.adapter_for`),
the default executables of the built-in profiles (:mod:`yui_lsp.agents.profiles`), the
catalog front ends list (``yui.listAgents``, whose ``takes`` is :data:`Takes`), what the
coordinator requires of a task (``coordinator/validation.py``) and which agents the spec
planner can ask (``specs/planner.py``). A new kind is one entry here. Plain data and the
standard library only: the configuration and the protocol read it without loading any
adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What a task for a kind must carry.
Takes = Literal["prompt", "command", "refactor"]
#: How a kind answers the spec planner (``yui spec run --planner AGENT``): ``model`` (Yui's
#: model, a structured answer) or ``headless`` (one run of its CLI in a scratch folder, the
#: JSON answer in its output).
Plans = Literal["model", "headless"]


@dataclass(frozen=True)
class Executable:
    """The default executable of an agent kind, how to override it and how to install it."""

    argv: tuple[str, ...]
    env_var: str | None
    product: str
    install_hint: str


@dataclass(frozen=True)
class Kind:
    """One kind of agent."""

    description: str
    takes: Takes
    #: ``module:factory`` of the adapter that runs it in a sandbox, imported when first
    #: asked for; None: the coordinator does the work itself, with no sandbox.
    adapter: str | None
    #: The CLI it starts when the profile names none (None: part of yui, or the profile's).
    executable: Executable | None = None
    #: What a task for it may carry instead of ``takes``.
    instead: tuple[Takes, ...] = ()
    #: How it plans a spec; None: it cannot.
    plans: Plans | None = None

    @property
    def accepts(self) -> tuple[Takes, ...]:
        """Everything a task for it may carry (at least one of them)."""
        return (self.takes, *self.instead)


_KIRO = "curl -fsSL https://cli.kiro.dev/install | bash, then `kiro-cli login`"

#: Every kind, in the order the configuration's schema lists them.
KINDS: dict[str, Kind] = {
    "kiro": Kind(
        "Kiro CLI (kiro-cli chat, headless)", "prompt", "yui_lsp.agents.kiro:KiroAdapter",
        Executable(("kiro-cli",), "YUI_KIRO_CLI", "Kiro CLI", _KIRO), plans="headless",
    ),
    "kiro-acp": Kind(
        "Kiro CLI over the Agent Client Protocol", "prompt",
        "yui_lsp.agents.acp_client:KiroAcpAdapter",
        Executable(("kiro-cli", "acp"), "YUI_KIRO_CLI", "Kiro CLI", _KIRO),
    ),
    "acp": Kind(
        "An agent speaking the Agent Client Protocol", "prompt",
        "yui_lsp.agents.acp_client:AcpAdapter",
    ),
    "claude": Kind(
        "Claude Code (claude -p)", "prompt", "yui_lsp.agents.claude:ClaudeAdapter",
        Executable(("claude",), "YUI_CLAUDE_CLI", "Claude Code",
                   "npm install -g @anthropic-ai/claude-code"), plans="headless",
    ),
    "codex": Kind(
        "Codex CLI (codex exec)", "prompt", "yui_lsp.agents.codex:CodexAdapter",
        Executable(("codex",), "YUI_CODEX_CLI", "Codex CLI", "npm install -g @openai/codex"),
        plans="headless",
    ),
    "gemini": Kind(
        "Gemini CLI (gemini -p)", "prompt", "yui_lsp.agents.gemini:GeminiAdapter",
        Executable(("gemini",), "YUI_GEMINI_CLI", "Gemini CLI",
                   "npm install -g @google/gemini-cli"), plans="headless",
    ),
    "aider": Kind(
        "Aider (aider --message)", "prompt", "yui_lsp.agents.aider:AiderAdapter",
        Executable(("aider",), "YUI_AIDER_CLI", "Aider",
                   "python -m pip install aider-install && aider-install"),
    ),
    "command": Kind(
        "A command that takes the prompt as its last argument", "prompt",
        "yui_lsp.agents.command:CommandAdapter", plans="headless",
    ),
    "shell": Kind(
        "Runs the task's command in the sandbox (formatter, codemod, generator)", "command",
        "yui_lsp.agents.builtin:ShellAdapter",
    ),
    "refactor": Kind("Literal or regex replacement over files, exact and fast", "refactor", None),
    # Without a model, Yui's worker runs a task's command or applies its refactor.
    "yui": Kind("Yui's own worker", "prompt", "yui_lsp.agents.builtin:YuiAdapter",
                instead=("command", "refactor"), plans="model"),
}

#: Every kind's name, in the table's order.
KIND_NAMES: tuple[str, ...] = tuple(KINDS)
