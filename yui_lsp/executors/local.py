"""Attempts on this machine: a pooled sandbox, the agent as a local process (or in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from yui_lsp.agents import adapter_for
from yui_lsp.executors.base import AttemptRequest, AttemptResult, run_in_sandbox
from yui_lsp.protocol import WorkspaceEvent
from yui_lsp.workspace import SandboxPool
from yui_lsp.workspace.overlay import overlay_documents


class LocalAttemptExecutor:
    """Runs each attempt in a sandbox from the workspace's pool (today's behaviour)."""

    name = "local"

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool

    async def start(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """The pool is closed by its owner."""

    @asynccontextmanager
    async def attempt(self, request: AttemptRequest) -> AsyncIterator[AttemptResult]:
        """Sandbox → agent → change set; the sandbox is released when the context closes."""
        adapter_for(request.profile).check_available(request.profile)
        task = request.task
        sandbox = await self.pool.acquire(task.id)
        try:
            if request.documents:
                await anyio.to_thread.run_sync(overlay_documents, sandbox, request.documents)
            request.emit(
                WorkspaceEvent(
                    task_id=task.id,
                    event="sandbox_ready",
                    detail={"base": sandbox.base, "attempt": request.attempt},
                )
            )
            request.on_start("")
            request.protected = sandbox.confine_readonly
            outcome, run_s = await run_in_sandbox(
                request, sandbox.path, request.workspace_root, log_path=request.log_path
            )
            changes = await anyio.to_thread.run_sync(sandbox.diff)
            yield AttemptResult(changes=changes, source=sandbox, outcome=outcome, run_s=run_s)
        finally:
            with anyio.CancelScope(shield=True):
                await self.pool.release(sandbox)
