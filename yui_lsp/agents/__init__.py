"""Agents: one adapter per agent kind, the subprocess runner, and the built-in workers.

Public face: :func:`resolve_profile` (name → profile), :func:`adapter_for` (profile →
adapter), :class:`AgentRun` / :class:`AgentOutcome` (the seam to the coordinator) and
:func:`refactor_text` (the exact replacement the built-in refactor uses).
"""

from __future__ import annotations

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
