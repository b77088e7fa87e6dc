"""Which adapter runs which kind of agent."""

from __future__ import annotations

from collections.abc import Callable

from yui_lsp.agents.aider import AiderAdapter
from yui_lsp.agents.base import AgentAdapter
from yui_lsp.agents.builtin import ShellAdapter, YuiAdapter
from yui_lsp.agents.claude import ClaudeAdapter
from yui_lsp.agents.codex import CodexAdapter
from yui_lsp.agents.command import CommandAdapter
from yui_lsp.agents.gemini import GeminiAdapter
from yui_lsp.agents.kiro import KiroAdapter
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentUnavailableError


def _acp(kind: str) -> Callable[[], AgentAdapter]:
    def build() -> AgentAdapter:
        # The ACP SDK takes about 0.4 s to import: only pay for it when an ACP agent runs.
        from yui_lsp.agents.acp_client import AcpAdapter

        return AcpAdapter(kind)

    return build


_ADAPTERS: dict[str, Callable[[], AgentAdapter]] = {
    "yui": YuiAdapter,
    "shell": ShellAdapter,
    "command": CommandAdapter,
    "kiro": KiroAdapter,
    "claude": ClaudeAdapter,
    "codex": CodexAdapter,
    "gemini": GeminiAdapter,
    "aider": AiderAdapter,
    "acp": _acp("acp"),
    "kiro-acp": _acp("kiro-acp"),
}


#: Kinds whose work the coordinator does itself, with no sandbox and no adapter.
IN_COORDINATOR = frozenset({"refactor"})


def adapter_for(profile: AgentProfile) -> AgentAdapter:
    """The adapter that runs agents of ``profile.kind`` in a sandbox."""
    if profile.kind in IN_COORDINATOR:
        raise AgentUnavailableError(
            f"agents of kind {profile.kind!r} run in the coordinator (an exact replacement "
            "in the workspace), not in a sandbox; give the task a refactor spec"
        )
    factory = _ADAPTERS.get(profile.kind)
    if factory is None:
        raise AgentUnavailableError(
            f"agents of kind {profile.kind!r} are not supported by this version of yui "
            f"(supported: {', '.join(sorted(_ADAPTERS))})"
        )
    return factory()
