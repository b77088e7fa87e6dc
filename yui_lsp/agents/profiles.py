"""Named agent profiles: the built-ins, the user's ``[tool.yui.agents.NAME]``, env overrides."""

from __future__ import annotations

import os
import shlex

from yui_lsp.agents.kinds import KINDS, Executable
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import UnknownAgentError

#: Default executables of the kinds that run an external CLI.
EXECUTABLES: dict[str, Executable] = {
    name: kind.executable for name, kind in KINDS.items() if kind.executable is not None
}

# ACP-speaking profiles of other CLIs, run by the generic ACP client (kind "acp").
_ACP_PROFILES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "gemini-acp": (("gemini", "--experimental-acp"), "YUI_GEMINI_CLI"),
    "claude-acp": (("claude-code-acp",), None),
    "codex-acp": (("codex-acp",), None),
}


def default_command(kind: str) -> list[str] | None:
    """The command of ``kind`` with its ``YUI_*_CLI`` override applied, or None (built-ins)."""
    exe = EXECUTABLES.get(kind)
    if exe is None:
        return None
    return _with_override(exe.argv, exe.env_var)


def _with_override(argv: tuple[str, ...], env_var: str | None) -> list[str]:
    override = os.environ.get(env_var, "").strip() if env_var else ""
    if not override:
        return list(argv)
    # The override names the executable (possibly with leading args, e.g. "node cli.js");
    # the kind's fixed subcommand (``acp``) still follows it. shlex splits, never a shell.
    return [*shlex.split(override), *argv[1:]]


def builtin_profiles() -> dict[str, AgentProfile]:
    """Every profile yui knows without configuration, with env overrides applied."""
    profiles: dict[str, AgentProfile] = {}
    for kind in EXECUTABLES:  # every kind with an executable is a built-in agent too
        profiles[kind] = AgentProfile(kind=kind, command=default_command(kind))
    for name, (argv, env_var) in _ACP_PROFILES.items():
        profiles[name] = AgentProfile(kind="acp", command=_with_override(argv, env_var))
    profiles["shell"] = AgentProfile(kind="shell")
    profiles["refactor"] = AgentProfile(kind="refactor")
    profiles["yui"] = AgentProfile(kind="yui")
    return profiles


def resolve_profile(name: str, settings: Settings) -> AgentProfile:
    """The profile called ``name``: the user's definition if any, else the built-in one.

    A user profile without ``command`` gets its kind's default (and env override); one
    without ``confine`` gets the settings' ``confine``.
    """
    if name in settings.agents:
        profile = settings.agents[name]
        if profile.command is None and profile.kind in EXECUTABLES:
            profile = profile.model_copy(update={"command": default_command(profile.kind)})
        return _with_confine(profile, settings)
    builtins = builtin_profiles()
    if name in builtins:
        return _with_confine(builtins[name], settings)
    raise UnknownAgentError(name, sorted({*builtins, *settings.agents}))


def _with_confine(profile: AgentProfile, settings: Settings) -> AgentProfile:
    if profile.kind == "yui" and profile.yui is None:
        profile = profile.model_copy(update={"yui": settings.yui})
    if profile.confine is not None:
        return profile
    return profile.model_copy(update={"confine": settings.confine})
