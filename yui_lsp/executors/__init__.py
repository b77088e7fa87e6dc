"""Executors: where one attempt of a task runs.

Public face: :class:`AttemptExecutor` (the seam), :class:`AttemptRequest` /
:class:`AttemptResult`, :class:`LocalAttemptExecutor` (pooled sandboxes on this machine) and
:func:`make_executor`, which builds the configured one. Only this package imports Ray, and
only when the ``ray`` executor is chosen (:mod:`yui_lsp.executors.ray_cluster`).
"""

from __future__ import annotations

from pathlib import Path

from yui_lsp.config import Settings
from yui_lsp.errors import ExecutorUnavailableError
from yui_lsp.executors.base import (
    AttemptExecutor,
    AttemptRequest,
    AttemptResult,
    ChangeSource,
    run_in_sandbox,
)
from yui_lsp.executors.local import LocalAttemptExecutor
from yui_lsp.workspace import SandboxPool

RAY_INSTALL_HINT = "install it with `pip install 'yui-lsp[ray]'` (or `pip install ray`)"


def make_executor(settings: Settings, root: Path, pool: SandboxPool) -> AttemptExecutor:
    """The executor ``settings.executor`` names (ExecutorUnavailableError when it cannot be)."""
    if settings.executor == "local":
        return LocalAttemptExecutor(pool)
    try:
        from yui_lsp.executors.ray_cluster import RayAttemptExecutor
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "ray":
            raise ExecutorUnavailableError(
                f"executor ray needs the Ray library, which is not installed: {RAY_INSTALL_HINT}"
            ) from None
        raise
    return RayAttemptExecutor(settings, Path(root), pool)


__all__ = [
    "RAY_INSTALL_HINT",
    "AttemptExecutor",
    "AttemptRequest",
    "AttemptResult",
    "ChangeSource",
    "LocalAttemptExecutor",
    "make_executor",
    "run_in_sandbox",
]
