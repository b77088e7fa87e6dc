"""``yui doctor``: how yui will work in a workspace, and what it cannot rely on there."""

from __future__ import annotations

from pathlib import Path

import anyio

from yui_lsp.agents.confine import bwrap_executable, unavailable_reason
from yui_lsp.coordinator.rundir import repository_key, runtime_dir
from yui_lsp.protocol import DoctorReport
from yui_lsp.workspace.filesystem import describe


async def diagnose(root: Path) -> DoctorReport:
    """Probe the workspace at ``root``: file system, flushing, locks, socket, confinement."""
    fs = await anyio.to_thread.run_sync(describe, root)
    folder = await anyio.to_thread.run_sync(runtime_dir)
    sockets = f"{folder}/{repository_key(root)}-*.sock (owner-only folder)"
    why_not = await unavailable_reason()
    if why_not is None:
        confinement = (f"bubblewrap ({bwrap_executable()}): agents run with the workspace "
                       "read-only")
    else:
        confinement = f"unavailable: {why_not}; agents run unconfined where confine = 'auto'"
    return DoctorReport(
        workspace=fs.path, file_system=fs.type, mount_point=fs.mount_point, flush=fs.flush,
        syncfs=fs.syncfs, locks=fs.locks, control_socket=sockets, confinement=confinement,
        confined=why_not is None,
    )
