"""Profiles: built-ins, user overrides, env overrides of executables; the registry; redaction."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from yui_lsp.agents.catalog import list_agents
from yui_lsp.agents.kinds import KIND_NAMES, KINDS
from yui_lsp.agents.profiles import builtin_profiles, resolve_profile
from yui_lsp.agents.registry import adapter_for, runs_in_coordinator
from yui_lsp.config import AgentKind, AgentProfile, Settings
from yui_lsp.errors import AgentUnavailableError, UnknownAgentError
from yui_lsp.redact import redact


def test_builtin_names_and_kinds() -> None:
    profiles = builtin_profiles()
    for name in ("kiro", "kiro-acp", "claude", "codex", "gemini", "aider", "shell", "refactor",
                 "yui"):
        assert profiles[name].kind == name
    assert profiles["kiro-acp"].command == ["kiro-cli", "acp"]
    assert profiles["gemini-acp"].kind == "acp"


def test_env_overrides_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUI_KIRO_CLI", "/opt/kiro/bin/kiro-cli")
    monkeypatch.setenv("YUI_CODEX_CLI", "node /opt/codex/cli.js")
    settings = Settings()
    assert resolve_profile("kiro", settings).command == ["/opt/kiro/bin/kiro-cli"]
    assert resolve_profile("kiro-acp", settings).command == ["/opt/kiro/bin/kiro-cli", "acp"]
    assert resolve_profile("codex", settings).command == ["node", "/opt/codex/cli.js"]


def test_user_profiles_override_and_extend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YUI_KIRO_CLI", raising=False)
    settings = Settings(agents={
        "kiro": AgentProfile(kind="kiro", agent_name="backend", timeout_s=600),
        "fmt": AgentProfile(kind="shell", command=["ruff", "format"]),
    })
    kiro = resolve_profile("kiro", settings)
    assert kiro.agent_name == "backend" and kiro.command == ["kiro-cli"]
    assert resolve_profile("fmt", settings).command == ["ruff", "format"]
    with pytest.raises(UnknownAgentError, match=r"unknown agent 'gpt'; known agents: .*fmt.*kiro"):
        resolve_profile("gpt", settings)


def test_every_builtin_profile_has_an_adapter() -> None:
    for name, profile in builtin_profiles().items():
        if profile.kind == "refactor":
            continue  # the coordinator applies it itself, see the next test
        assert adapter_for(profile).kind == profile.kind, name


def test_every_kind_comes_from_the_one_table() -> None:
    # agents/kinds.py is the list: the configuration accepts exactly its kinds, every entry
    # names an adapter of its own kind (or none: refactor) and the catalog describes it.
    assert get_args(AgentKind) == KIND_NAMES == tuple(KINDS)
    for name, kind in KINDS.items():
        profile = AgentProfile(kind=name, command=["x"])
        if kind.adapter is None:
            assert runs_in_coordinator(name)
        else:
            assert adapter_for(profile).kind == name
    with pytest.raises(ValidationError, match="Input should be 'kiro', 'kiro-acp'"):
        AgentProfile(kind="nope")
    described = {a.kind: (a.description, a.takes) for a in list_agents(Settings())}
    assert described["shell"] == (KINDS["shell"].description, "command")


def test_refactor_runs_in_the_coordinator_not_an_adapter() -> None:
    # The exact replacement never runs in a sandbox (coordinator/pipeline.py lands it), so
    # no adapter exists for it; asking for one says why. It is still listed as available.
    with pytest.raises(AgentUnavailableError, match="run in the coordinator"):
        adapter_for(AgentProfile(kind="refactor"))
    (info,) = [a for a in list_agents(Settings()) if a.name == "refactor"]
    assert info.available and info.takes == "refactor"


def test_redaction_keeps_text_but_hides_secrets() -> None:
    line = 'OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234 "token": "ghp_abcdefghijklmnopqrstuvwx12"'
    out = redact(line)
    assert "sk-proj" not in out and "ghp_" not in out
    assert out.startswith("OPENAI_API_KEY=[redacted]")
    assert redact("Tokens: 2.1k sent, 310 received") == "Tokens: 2.1k sent, 310 received"
    assert redact("Authorization: Bearer abc.def.ghi123") == "Authorization: [redacted]"
