"""The services around the coordinator's core, each opened with its own task group.

Every opener is an ``asynccontextmanager`` wrapping ``async with create_task_group()``: a
failure while starting cancels what already started, and leaving the block stops the
service's background work before its resources are closed. Blocking calls (recovery, the
domain registry, lease files) run in worker threads.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from yui_lsp.config import Settings
from yui_lsp.coordinator.audit import AuditLog
from yui_lsp.coordinator.bus import Bus
from yui_lsp.coordinator.domain import ControlHandler, DomainMembership
from yui_lsp.coordinator.glance import HistoryUnavailableError
from yui_lsp.coordinator.history import History, HistoryEntry
from yui_lsp.coordinator.pipeline import Services
from yui_lsp.executors import make_executor
from yui_lsp.protocol import Message
from yui_lsp.workspace import Applier, LeaseTable, SandboxPool, WorkspaceReader, recover
from yui_lsp.workspace.statedir import private_dir, state_dir

log = logging.getLogger(__name__)

#: Pause of a background writer whose disk refused a write, before it tries again.
_DISK_RETRY_S = 1.0
#: What a full disk says: the tasks go on, their records are written when there is room.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, HistoryUnavailableError) or (
        isinstance(exc, OSError) and exc.errno in _FULL)


async def _written(what: str, write: Callable[[], object]) -> bool:
    """``write()`` in a worker thread: True once done; False, after a warning, when the disk
    refused it (the caller keeps what it wrote, and tries again after ``_DISK_RETRY_S``)."""
    try:
        await anyio.to_thread.run_sync(write)
    except (OSError, HistoryUnavailableError) as exc:
        if not _disk_full(exc):
            raise
        log.warning("%s cannot be written now (%s); kept until the disk has room", what,
                    exc.strerror if isinstance(exc, OSError) else exc)
        return False
    return True


@asynccontextmanager
async def background() -> AsyncIterator[TaskGroup]:
    """A task group for background work: what runs in it is cancelled when the block ends."""
    async with anyio.create_task_group() as tg:
        try:
            yield tg
        finally:
            tg.cancel_scope.cancel()


class Signal:
    """A level-triggered wake-up: ``set`` any number of times, ``wait`` returns and re-arms."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float | None = None) -> None:
        """Until set (or ``timeout`` seconds), then armed again for the next ``set``."""
        with anyio.move_on_after(timeout):
            await self._event.wait()
        self._event = anyio.Event()


@asynccontextmanager
async def open_workspace(
    root: Path,
    settings: Settings,
    coordinator_id: str,
    reader: WorkspaceReader,
    applier: Applier,
    *,
    pool_size: int,
    leased_task_ids: Callable[[], Iterable[str]],
) -> AsyncIterator[tuple[Services, list[str]]]:
    """Leases (renewed by heartbeat), the sandbox pool and the log folder of one coordinator.

    Interrupted applies are recovered first; yields the services and what was recovered.
    On exit every lease of this coordinator is released and the pool is closed.
    """
    yui = await anyio.to_thread.run_sync(state_dir, root)
    recovered = await anyio.to_thread.run_sync(recover, root)
    leases = LeaseTable(root, coordinator_id, settings.lease_ttl_s)
    sandboxes = SandboxPool(
        root,
        Path(settings.sandbox_dir) if settings.sandbox_dir else None,
        settings.sandbox_include,
        pool_size,
    )
    await anyio.to_thread.run_sync(sandboxes.cleanup_orphans)
    logs = yui / "logs"
    await anyio.to_thread.run_sync(private_dir, logs)
    executor = make_executor(settings, root, sandboxes)
    await executor.start()
    services = Services(root=root, settings=settings, leases=leases, sandboxes=sandboxes,
                        executor=executor, reader=reader, applier=applier, logs_dir=logs)
    try:
        async with background() as tg:
            tg.start_soon(leases.heartbeat, leased_task_ids, settings.lease_heartbeat_s)
            yield services, recovered
    finally:
        with anyio.CancelScope(shield=True):
            # Remote attempts end before their leases are let go.
            await executor.close()
            await anyio.to_thread.run_sync(leases.release_all_of_coordinator)
            await sandboxes.close()


@asynccontextmanager
async def open_audit(root: Path, bus: Bus) -> AsyncIterator[AuditLog]:
    """``.yui/audit.jsonl`` fed by every message on ``bus`` while open (written by a worker
    thread, in batches, a few times a second; everything taken in is written on exit)."""
    audit = await anyio.to_thread.run_sync(lambda: AuditLog(state_dir(root) / "audit.jsonl"))
    wake = Signal()

    def take_in(message: Message) -> None:
        if audit(message):
            wake.set()

    async def write_loop() -> None:
        while True:
            await wake.wait()
            batch = audit.take()
            if not await _written("the audit log", partial(audit.write, batch)):
                audit.give_back(batch)
                await anyio.sleep(_DISK_RETRY_S)
                wake.set()
            await anyio.sleep(0.1)

    remove = bus.add_listener(take_in)
    try:
        async with background() as tg:
            tg.start_soon(write_loop)
            yield audit
    finally:
        remove()
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(audit.write, audit.take())
            except OSError as exc:
                if not _disk_full(exc):
                    raise
                log.warning("the audit log's last messages were lost: %s", exc.strerror)
            finally:
                audit.close()


@asynccontextmanager
async def open_domain(
    root: Path,
    coordinator_id: str,
    kind: str,
    handler: ControlHandler,
    tasks_json: Callable[[], bytes],
    dirty: Signal,
) -> AsyncIterator[DomainMembership]:
    """This coordinator's registry entry, control socket and published task table.

    The table is written again (in a worker thread) whenever ``dirty()`` is set, at most
    five times a second.
    """
    domain = DomainMembership(root, coordinator_id, kind)
    await anyio.to_thread.run_sync(domain.register)
    try:
        async with background() as tg:
            await tg.start(domain.serve, handler)
            tg.start_soon(_publish_loop, domain, tasks_json, dirty)
            yield domain
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(domain.unregister)


async def _publish_loop(
    domain: DomainMembership, tasks_json: Callable[[], bytes], dirty: Signal
) -> None:
    while True:
        await dirty.wait()
        if not await _written("the task table", partial(domain.publish_json, tasks_json())):
            await anyio.sleep(_DISK_RETRY_S)
            dirty.set()
        await anyio.sleep(0.2)  # coalesce bursts: at most five table writes a second


class HistoryWriter:
    """Task states waiting to be saved; the newest state of a task replaces older ones."""

    def __init__(self, history: History) -> None:
        self.history = history
        self._pending: dict[str, Callable[[], HistoryEntry]] = {}
        self._signal = Signal()

    def note(self, task_id: str, entry: Callable[[], HistoryEntry]) -> None:
        """Save this task's state soon (``entry`` is built when the batch is written)."""
        self._pending[task_id] = entry
        self._signal.set()

    async def flush(self) -> bool:
        """Write what is pending; False (and kept pending) when the disk is full."""
        batch, self._pending = self._pending, {}
        if batch:
            entries = [make() for make in batch.values()]
            if not await _written("the task history", partial(self.history.record, entries)):
                self._pending = {**batch, **self._pending}  # newer states stay newer
                return False
        return True

    async def run(self) -> None:
        while True:
            await self._signal.wait()
            if not await self.flush():
                await anyio.sleep(_DISK_RETRY_S)
                self._signal.set()
            await anyio.sleep(0.2)  # coalesce bursts: at most five transactions a second


@asynccontextmanager
async def open_history(root: Path, settings: Settings) -> AsyncIterator[HistoryWriter]:
    """The repository's task history, written in the background; flushed on exit."""
    history = History(root, settings.history_days, settings.history_max_tasks)
    await anyio.to_thread.run_sync(history.prune)
    writer = HistoryWriter(history)
    try:
        async with background() as tg:
            tg.start_soon(writer.run)
            yield writer
    finally:
        with anyio.CancelScope(shield=True):
            await writer.flush()
            await anyio.to_thread.run_sync(history.close)
