"""Every agent a user can pick, in one place: name, what it takes, whether it can run here.

Front ends list agents from :func:`list_agents` (the CLI's help, the editors' pickers through
`yui.listAgents`), so a new kind (an entry of :data:`yui_lsp.agents.kinds.KINDS`) or profile
shows up everywhere at once.
"""

from __future__ import annotations

from yui_lsp.agents.kinds import KINDS
from yui_lsp.agents.profiles import builtin_profiles, resolve_profile
from yui_lsp.agents.registry import adapter_for, runs_in_coordinator
from yui_lsp.agents.yui import model_problem
from yui_lsp.config import Settings
from yui_lsp.errors import YuiError
from yui_lsp.protocol import AgentInfo


def agent_names(settings: Settings) -> list[str]:
    """Every agent name ``settings`` knows: the built-ins and the user's profiles, sorted."""
    return sorted({*builtin_profiles(), *settings.agents})


def list_agents(settings: Settings) -> list[AgentInfo]:
    """Every agent with its availability here (looks up executables: call off the loop)."""
    agents: list[AgentInfo] = []
    for name in agent_names(settings):
        profile = resolve_profile(name, settings)
        kind = KINDS[profile.kind]
        description, takes = kind.description, kind.takes
        if name in settings.agents:
            description = f"{description} (profile from the configuration)"
        elif profile.kind == "acp":
            description = f"{description}: {' '.join(profile.command or [name])}"
        reason: str | None = None
        try:
            if not runs_in_coordinator(profile.kind):  # those are part of yui: always there
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
