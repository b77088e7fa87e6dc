"""Every agent a user can pick, in one place: name, what it takes, whether it can run here.

Front ends list agents from :func:`list_agents` (the CLI's help, the editors' pickers through
`yui.listAgents`), so a new kind or profile shows up everywhere at once.
"""

from __future__ import annotations

from typing import Literal, get_args

from yui_lsp.agents.profiles import builtin_profiles, resolve_profile
from yui_lsp.agents.registry import IN_COORDINATOR, adapter_for
from yui_lsp.agents.yui import model_problem
from yui_lsp.config import AgentKind, Settings
from yui_lsp.errors import YuiError
from yui_lsp.protocol import AgentInfo

Takes = Literal["prompt", "command", "refactor"]

#: What each kind of agent is and what a task for it must carry.
KINDS: dict[str, tuple[str, Takes]] = {
    "kiro": ("Kiro CLI (kiro-cli chat, headless)", "prompt"),
    "kiro-acp": ("Kiro CLI over the Agent Client Protocol", "prompt"),
    "acp": ("An agent speaking the Agent Client Protocol", "prompt"),
    "claude": ("Claude Code (claude -p)", "prompt"),
    "codex": ("Codex CLI (codex exec)", "prompt"),
    "gemini": ("Gemini CLI (gemini -p)", "prompt"),
    "aider": ("Aider (aider --message)", "prompt"),
    "command": ("A command that takes the prompt as its last argument", "prompt"),
    "shell": ("Runs the task's command in the sandbox (formatter, codemod, generator)",
              "command"),
    "refactor": ("Literal or regex replacement over files, exact and fast", "refactor"),
    "yui": ("Yui's own worker", "prompt"),
}

assert set(KINDS) == set(get_args(AgentKind)), "every agent kind needs a catalog entry"


def agent_names(settings: Settings) -> list[str]:
    """Every agent name ``settings`` knows: the built-ins and the user's profiles, sorted."""
    return sorted({*builtin_profiles(), *settings.agents})


def list_agents(settings: Settings) -> list[AgentInfo]:
    """Every agent with its availability here (looks up executables: call off the loop)."""
    agents: list[AgentInfo] = []
    for name in agent_names(settings):
        profile = resolve_profile(name, settings)
        description, takes = KINDS[profile.kind]
        if name in settings.agents:
            description = f"{description} (profile from the configuration)"
        elif profile.kind == "acp":
            description = f"{description}: {' '.join(profile.command or [name])}"
        reason: str | None = None
        try:
            if profile.kind not in IN_COORDINATOR:  # those are part of yui: always there
                adapter_for(profile).check_available(profile)
        except YuiError as exc:
            reason = str(exc)
        if profile.kind == "yui":
            # Yui's worker takes a prompt: available when its model is configured.
            reason = model_problem(profile)
            if profile.yui is not None and profile.yui.model:
                description = f"{description} (model {profile.yui.model})"
        agents.append(AgentInfo(name=name, kind=profile.kind, description=description,
                                takes=takes, available=reason is None, reason=reason))
    return agents
