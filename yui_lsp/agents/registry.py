"""Which adapter runs which kind of agent (the table is :data:`yui_lsp.agents.kinds.KINDS`)."""

from __future__ import annotations

import importlib
from typing import cast

from yui_lsp.agents.base import AgentAdapter
from yui_lsp.agents.kinds import KINDS
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentUnavailableError


def runs_in_coordinator(kind: str) -> bool:
    """True for kinds whose work the coordinator does itself, with no sandbox and no adapter."""
    entry = KINDS.get(kind)
    return entry is not None and entry.adapter is None


def adapter_for(profile: AgentProfile) -> AgentAdapter:
    """The adapter that runs agents of ``profile.kind`` in a sandbox.

    Each adapter's module is imported when first asked for (the ACP SDK alone takes about
    0.4 s to import: only pay for it when an ACP agent runs).
    """
    entry = KINDS.get(profile.kind)
    if entry is None:
        raise AgentUnavailableError(
            f"agents of kind {profile.kind!r} are not supported by this version of yui "
            f"(supported: {', '.join(sorted(KINDS))})"
        )
    if entry.adapter is None:
        raise AgentUnavailableError(
            f"agents of kind {profile.kind!r} run in the coordinator (an exact replacement "
            "in the workspace), not in a sandbox; give the task a refactor spec"
        )
    module, _, factory = entry.adapter.partition(":")
    return cast(AgentAdapter, getattr(importlib.import_module(module), factory)())
