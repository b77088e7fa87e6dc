"""Attempts on a Ray cluster: the base travels, the change set comes back.

Each attempt is one Ray task (a streaming generator, so progress lines arrive while the agent
works) placed by the agent profile's ``ray`` resources; Ray's own retries are off, the task's
retry policy decides. A node lost mid-attempt fails the attempt with "node lost" (retried
elsewhere when the task allows retries); leases stay with the coordinator meanwhile and
nothing lands until a change set is back whole. Cancelling an attempt, or the coordinator
ending, force-cancels its Ray tasks, and each node's reaper ends their agents.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import ray
import ray.exceptions

from yui_lsp import errors
from yui_lsp.config import Settings
from yui_lsp.errors import (
    AgentFailedError,
    AgentUnavailableError,
    ExecutorUnavailableError,
    NodeLostError,
)
from yui_lsp.executors.base import AttemptRequest, AttemptResult
from yui_lsp.executors.node import Event, stream_attempt
from yui_lsp.executors.shipment import (
    AttemptPayload,
    ShippedChanges,
    included_files,
    pack_objects,
    repo_key,
)
from yui_lsp.protocol import AgentOutput, parse_message
from yui_lsp.workspace import SandboxPool
from yui_lsp.workspace.gitcmd import read_head


def _live_nodes() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return [n for n in nodes if n.get("Alive")]


def _node_name() -> str:
    node_id = ray.get_runtime_context().get_node_id()
    return f"{socket.gethostname()}/{node_id[:8]}"


@ray.remote(max_retries=0, retry_exceptions=False)
def _attempt_on_node(payload: AttemptPayload) -> Any:
    def fetch_head_pack() -> bytes:
        data: bytes = ray.get(payload.head_pack[0])
        return data

    yield from stream_attempt(payload, _node_name(), fetch_head_pack)


def _error(kind: str, text: str) -> errors.YuiError:
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.YuiError):
        with contextlib.suppress(TypeError):
            return cls(text)
    return AgentFailedError(text)


def _probe(address: str) -> None:
    """Fail fast with one line when a host:port address does not answer."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ExecutorUnavailableError(
            f"the Ray cluster at {address} is unreachable ({exc.strerror or exc}); start one "
            "with `ray start --head` or set ray_address"
        ) from None


class _RemoteLog:
    """The task log (``yui logs``) of a remote attempt, written from its streamed lines."""

    def __init__(self, path: Path | None, request: AttemptRequest, node: str) -> None:
        self._file: IO[str] | None = None
        self._budget = request.log_max_bytes
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", errors="replace")
            self.write(f"--- attempt {request.attempt} of task {request.task.id} on node {node}")

    def write(self, line: str) -> None:
        if self._file is not None and self._budget > 0:
            self._budget -= len(line) + 1
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class RayAttemptExecutor:
    """Runs attempts as Ray tasks on a cluster's nodes."""

    name = "ray"

    def __init__(self, settings: Settings, root: Path, pool: SandboxPool) -> None:
        self.settings = settings
        self.root = root
        self.pool = pool
        self.address = settings.ray_address or "auto"
        self._repo_key = repo_key(root)
        self._head_packs: dict[str, Any] = {}
        self._running: set[Any] = set()
        self._connected_here = False
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if not self.pool.is_git:
            raise ExecutorUnavailableError(
                "executor ray needs a git repository (the base travels as git objects); "
                "use executor local here"
            )
        await anyio.to_thread.run_sync(self._connect)

    def _connect(self) -> None:
        if ray.is_initialized():
            return  # the embedding program connected already
        _probe(self.address)
        try:
            ray.init(
                address=self.address, logging_level=logging.WARNING, log_to_driver=False,
                namespace="yui", configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExecutorUnavailableError(
                f"cannot connect to the Ray cluster at {self.address}: {first}"
            ) from None
        self._connected_here = True

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            for gen in list(self._running):
                self._cancel(gen)
            self._running.clear()
            self._head_packs.clear()
            if self._connected_here:
                await anyio.to_thread.run_sync(ray.shutdown)
                self._connected_here = False

    # ----------------------------------------------------------------- attempts

    @asynccontextmanager
    async def attempt(self, request: AttemptRequest) -> AsyncIterator[AttemptResult]:
        """Ship the attempt to a node, stream its progress, bring its change set back."""
        options = await anyio.to_thread.run_sync(self._placement, request)
        payload = await anyio.to_thread.run_sync(self._payload, request)
        shipped, node = await self._run_remote(request, payload, options)
        yield AttemptResult(
            changes=shipped.changes, source=shipped, outcome=shipped.outcome, node=node,
            run_s=shipped.run_s,
        )

    def _placement(self, request: AttemptRequest) -> dict[str, Any]:
        """Ray options of the attempt; refuses what no live node could ever offer."""
        want = request.profile.ray
        options: dict[str, Any] = {
            "num_cpus": want.num_cpus if want else 1.0,
            "name": f"yui:{request.task.id}:{request.attempt}",
        }
        needed: dict[str, float] = {"CPU": options["num_cpus"]}
        if want is not None and want.memory:
            options["memory"] = want.memory
            needed["memory"] = float(want.memory)
        if want is not None and want.resources:
            options["resources"] = dict(want.resources)
            needed.update(want.resources)
        nodes = _live_nodes()
        if not any(all(n["Resources"].get(k, 0.0) >= v for k, v in needed.items() if v)
                   for n in nodes):
            offered = "; ".join(
                ", ".join(f"{k}={v:g}" for k, v in sorted(n["Resources"].items())
                          if not k.startswith(("node:", "object_store")))
                for n in nodes
            ) or "no live nodes"
            wanted = ", ".join(f"{k}={v:g}" for k, v in needed.items())
            raise AgentUnavailableError(
                f"no node of the Ray cluster offers what agent {request.task.agent!r} asks "
                f"for ({wanted}); nodes offer: {offered} (see the agent's `ray` settings)"
            )
        return options

    def _payload(self, request: AttemptRequest) -> AttemptPayload:
        user = self.settings.agents.get(request.task.agent)
        profile = request.profile
        if user is None or user.command is None:
            # The coordinator's executable paths mean nothing on a node: it finds its own.
            profile = profile.model_copy(update={"command": None})
        base = self.pool.snapshot_base()
        head = read_head(self.root)
        with self._lock:
            head_ref = self._head_packs.get(head)
            if head_ref is None:
                head_ref = ray.put(pack_objects(self.root, head))
                self._head_packs = {head: head_ref}  # older HEADs are no longer needed
        return AttemptPayload(
            repo_key=self._repo_key, head=head, base=base,
            base_pack=(pack_objects(self.root, base, head, self.pool.objects)
                       if base != head else b""),
            head_pack=[head_ref],
            include=included_files(self.root, self.settings.sandbox_include),
            task_json=request.task.model_dump_json(),
            profile_json=profile.model_dump_json(), attempt=request.attempt,
            agent_id=request.agent_id, limits=request.limits,
            output_line_max=request.output_line_max,
            log_max_bytes=request.log_max_bytes, documents=dict(request.documents),
        )

    async def _run_remote(
        self, request: AttemptRequest, payload: AttemptPayload, options: dict[str, Any]
    ) -> tuple[ShippedChanges, str]:
        gen: Any = _attempt_on_node.options(**options).remote(payload)
        self._running.add(gen)
        node = ""
        log: _RemoteLog | None = None
        try:
            async for ref in gen:
                event: Event = await ref
                if event[0] == "start":
                    node = event[1]
                    log = _RemoteLog(request.log_path, request, node)
                    request.on_start(node)
                elif event[0] == "message":
                    message = parse_message(event[1])
                    if isinstance(message, AgentOutput) and log is not None:
                        log.write(f"[{message.stream}] {message.line}")
                    request.emit(message)
                elif event[0] == "error":
                    raise _error(event[1], event[2])
                elif event[0] == "result":
                    shipped: ShippedChanges = event[1]
                    return shipped, node
            raise AgentFailedError(f"the attempt on node {node or '?'} ended without a result")
        except ray.exceptions.RayError as exc:
            raise await anyio.to_thread.run_sync(self._lost, exc, node) from None
        except BaseException:
            self._cancel(gen)
            raise
        finally:
            self._running.discard(gen)
            if log is not None:
                log.close()

    def _cancel(self, gen: Any) -> None:
        with contextlib.suppress(Exception):
            ray.cancel(gen, force=True)

    def _lost(self, exc: ray.exceptions.RayError, node: str) -> errors.YuiError:
        """What a system failure of an attempt means to the user."""
        kind = type(exc).__name__
        if isinstance(exc, ray.exceptions.TaskUnschedulableError):
            return AgentUnavailableError(f"the Ray cluster cannot place the attempt ({kind})")
        if not node:
            return NodeLostError(f"node lost before the attempt started ({kind}); retried "
                                 "when the task allows retries")
        short = node.rsplit("/", 1)[-1]
        deadline = time.monotonic() + 10
        alive = True
        while alive and time.monotonic() < deadline:
            alive = any(n["NodeID"].startswith(short) for n in _live_nodes())
            if alive:
                time.sleep(0.5)  # the cluster notices a dead node within seconds
        what = "node lost" if not alive else "the Ray worker died"
        return NodeLostError(f"{what}: {node} went away during the attempt ({kind})")
