"""Agents: one adapter per agent kind, the subprocess runner, and the built-in workers.

Public face: :func:`resolve_profile` (name → profile), :func:`adapter_for` (profile →
adapter), :class:`AgentRun` / :class:`AgentOutcome` (the seam to the coordinator) and
:func:`refactor_text` (the exact replacement the built-in refactor uses). Every kind of
agent is one entry of :data:`yui_lsp.agents.kinds.KINDS`.

Names are imported on first use, so the configuration can read the kinds table
(``agents/kinds.py``) without loading the adapters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yui_lsp.lazyimport import exports

if TYPE_CHECKING:
    from yui_lsp.agents.base import AgentAdapter, AgentOutcome, AgentRun, Emit, WriteGuard
    from yui_lsp.agents.builtin import refactor_text, refactor_texts
    from yui_lsp.agents.profiles import builtin_profiles, resolve_profile
    from yui_lsp.agents.registry import adapter_for
    from yui_lsp.agents.runner import Executor, LocalExecutor
    from yui_lsp.agents.yui import check_model_task, uses_model

__all__ = [
    "AgentAdapter", "AgentOutcome", "AgentRun", "Emit", "Executor", "LocalExecutor",
    "WriteGuard", "adapter_for", "builtin_profiles", "check_model_task", "refactor_text",
    "refactor_texts", "resolve_profile", "uses_model",
]

# Imported on first use: see yui_lsp/lazyimport.py.
__getattr__ = exports(__name__, globals(), {
    "AgentAdapter": "yui_lsp.agents.base",
    "AgentOutcome": "yui_lsp.agents.base",
    "AgentRun": "yui_lsp.agents.base",
    "Emit": "yui_lsp.agents.base",
    "WriteGuard": "yui_lsp.agents.base",
    "refactor_text": "yui_lsp.agents.builtin",
    "refactor_texts": "yui_lsp.agents.builtin",
    "builtin_profiles": "yui_lsp.agents.profiles",
    "resolve_profile": "yui_lsp.agents.profiles",
    "adapter_for": "yui_lsp.agents.registry",
    "Executor": "yui_lsp.agents.runner",
    "LocalExecutor": "yui_lsp.agents.runner",
    "check_model_task": "yui_lsp.agents.yui",
    "uses_model": "yui_lsp.agents.yui",
})
