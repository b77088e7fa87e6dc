"""The node's side of a remote attempt: materialize the sandbox, run the agent, ship changes.

Runs inside a Ray worker process, without importing Ray (the Ray task in
:mod:`yui_lsp.executors.ray_cluster` hands in how to fetch the HEAD pack). Each node keeps,
per workspace, a git repository holding the objects it was sent (``<cache>/nodes/repos/``)
and a sandbox pool over it that stays warm across the attempts a worker process runs. The
agent runs exactly as locally: same adapters, same confinement (the node's repository is
what it may not write), its output streamed back as protocol messages.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import filelock
import platformdirs

from yui_lsp.agents import adapter_for, builtin_profiles
from yui_lsp.agents.profiles import default_command
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError, NodeLostError, YuiError
from yui_lsp.executors import reaper
from yui_lsp.executors.base import AttemptRequest, run_in_sandbox
from yui_lsp.executors.reaper import TAG_VARIABLE
from yui_lsp.executors.shipment import (
    SHIPMENT_VERSION,
    AttemptPayload,
    ShippedChanges,
    place_included,
    ship_changes,
)
from yui_lsp.protocol import Message, Task, WorkspaceEvent
from yui_lsp.workspace import SandboxPool, resolve_inside
from yui_lsp.workspace.gitcmd import git
from yui_lsp.workspace.overlay import overlay_documents

#: Events a remote attempt streams back: ("start", node), ("message", json),
#: ("result", ShippedChanges) or ("error", error class name, text).
Event = tuple[Any, ...]

#: Warm sandbox pools of this worker process, by workspace.
_POOLS: dict[str, SandboxPool] = {}
_POOL_SIZE = 2


def node_cache() -> Path:
    """Where this node keeps repositories and sandboxes (``YUI_NODE_CACHE`` overrides)."""
    base = os.environ.get("YUI_NODE_CACHE") or platformdirs.user_cache_dir("yui-lsp")
    return Path(base) / "nodes"


def _has_commit(repo: Path, sha: str) -> bool:
    return git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo, check=False).returncode == 0


def _unpack(repo: Path, pack: bytes) -> None:
    git(["index-pack", "--stdin", "--fix-thin"], cwd=repo, stdin=pack)


def ensure_objects(
    repo: Path, payload: AttemptPayload, fetch_head_pack: Callable[[], bytes]
) -> None:
    """Make ``repo`` hold the payload's base commit, fetching only what it lacks."""
    repo.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(repo.parent / f"{repo.name}.lock")):
        if not (repo / ".git").exists():
            git(["init", "-q", str(repo)])
        if _has_commit(repo, payload.base):
            return
        if not _has_commit(repo, payload.head):
            _unpack(repo, fetch_head_pack())
            git(["update-ref", f"refs/yui/heads/{payload.head}", payload.head], cwd=repo)
            # A detached HEAD makes it a repository with commits, as the pool expects.
            git(["update-ref", "--no-deref", "HEAD", payload.head], cwd=repo)
        if payload.base != payload.head:
            _unpack(repo, payload.base_pack)
            git(["update-ref", f"refs/yui/bases/{payload.base}", payload.base], cwd=repo)


def _pool(repo: Path, key: str) -> SandboxPool:
    pool = _POOLS.get(key)
    if pool is None:
        pool = SandboxPool(repo, node_cache() / "sandboxes", [], _POOL_SIZE)
        pool.cleanup_orphans()  # sandboxes (and agents) of workers that died on this node
        _POOLS[key] = pool
    return pool


class _Reaper:
    """The watchdog process that ends the attempt's agents if this worker dies."""

    def __init__(self, tag: str, folder: Path) -> None:
        self._proc = subprocess.Popen(
            # Run as a plain script: importing the yui_lsp package would cost a second.
            [sys.executable, reaper.__file__, tag, str(folder)],
            stdin=subprocess.PIPE, start_new_session=True,
        )

    def finish(self) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.write(b"done\n")
            self._proc.stdin.close()
        self._proc.wait()


async def run_on_node(
    payload: AttemptPayload,
    node: str,
    emit: Callable[[Message], None],
    fetch_head_pack: Callable[[], bytes],
) -> ShippedChanges:
    """One attempt on this node; YuiErrors name the node."""
    if payload.version != SHIPMENT_VERSION:
        raise AgentUnavailableError(
            f"node {node} runs another version of yui-lsp (shipment {SHIPMENT_VERSION}, "
            f"sent {payload.version}); install the coordinator's version on every node"
        )
    task = Task.model_validate_json(payload.task_json)
    profile = _node_profile(AgentProfile.model_validate_json(payload.profile_json), task.agent)
    try:
        adapter_for(profile).check_available(profile)
    except AgentUnavailableError as exc:
        raise AgentUnavailableError(f"on node {node}: {exc}") from None
    repo = node_cache() / "repos" / payload.repo_key
    await anyio.to_thread.run_sync(ensure_objects, repo, payload, fetch_head_pack)
    pool = _pool(repo, payload.repo_key)
    sandbox = await pool.acquire(task.id, base=payload.base)
    try:
        await anyio.to_thread.run_sync(place_included, sandbox.path, payload.include)
        if payload.documents:
            await anyio.to_thread.run_sync(overlay_documents, sandbox, payload.documents)
        emit(WorkspaceEvent(task_id=task.id, event="sandbox_ready",
                            detail={"base": payload.base, "attempt": payload.attempt,
                                    "node": node}))
        tag = uuid.uuid4().hex
        reaper = _Reaper(tag, sandbox.path)
        try:
            request = AttemptRequest(
                task=task, profile=profile, attempt=payload.attempt, agent_id=payload.agent_id,
                emit=emit, workspace_root=repo, write_guard=_inside_guard(sandbox.path),
                limits=payload.limits,
                output_line_max=payload.output_line_max, log_max_bytes=payload.log_max_bytes,
                env={TAG_VARIABLE: tag}, protected=sandbox.confine_readonly,
            )
            outcome, run_s = await run_in_sandbox(request, sandbox.path, repo, log_path=None)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(reaper.finish)
        return await anyio.to_thread.run_sync(ship_changes, sandbox, outcome, run_s)
    finally:
        with anyio.CancelScope(shield=True):
            await pool.release(sandbox)


def _node_profile(profile: AgentProfile, name: str) -> AgentProfile:
    """The shipped profile with this node's executable when the user named none.

    The coordinator ships ``command`` only when the user's profile sets it; otherwise the
    node's own ``YUI_*_CLI`` override or PATH decides, as it would for a local run there.
    """
    if profile.command is not None:
        return profile
    builtin = builtin_profiles().get(name)
    if builtin is not None and builtin.kind == profile.kind and builtin.command:
        return profile.model_copy(update={"command": builtin.command})
    return profile.model_copy(update={"command": default_command(profile.kind)})


def _inside_guard(folder: Path) -> Callable[[str], Any]:
    # Leases live with the coordinator: a write outside the task's claims is checked when
    # the change set lands there (taken if free, else a conflict), not at write time.
    async def guard(rel: str) -> None:
        resolve_inside(folder, rel)

    return guard


def stream_attempt(
    payload: AttemptPayload, node: str, fetch_head_pack: Callable[[], bytes]
) -> Iterator[Event]:
    """Run the attempt on an event loop of its own, yielding its events as they come.

    The generator is what Ray streams to the coordinator. Closing it early (cancellation)
    cancels the attempt, which ends the agent's processes before returning.
    """
    events: queue.Queue[Event] = queue.Queue()

    def emit(message: Message) -> None:
        events.put(("message", message.model_dump_json()))

    async def main() -> None:
        try:
            result = await run_on_node(payload, node, emit, fetch_head_pack)
        except YuiError as exc:
            events.put(("error", type(exc).__name__, str(exc)))
        except Exception as exc:  # a bug or a broken node: say where
            events.put(("error", AgentFailedError.__name__, f"on node {node}: {exc!r}"))
        else:
            events.put(("result", result))

    # A Ray worker is a child of its node's raylet: once that is gone the node is lost, and
    # an agent that just "failed" was killed by the node going down, not by its own doing.
    raylet = os.getppid()
    yield ("start", node)
    with anyio.from_thread.start_blocking_portal() as portal:
        future = portal.start_task_soon(main)
        try:
            while True:
                event = events.get()
                if event[0] == "error" and os.getppid() != raylet:
                    event = ("error", NodeLostError.__name__,
                             f"node lost: {node} went down during the attempt ({event[2]})")
                yield event
                if event[0] in ("result", "error"):
                    break
        finally:
            future.cancel()
