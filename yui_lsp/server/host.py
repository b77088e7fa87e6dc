"""The coordinators this server hosts: one per workspace folder, alive from ``initialized``
to ``shutdown``.

Everything runs in one task group owned by :meth:`CoordinatorHost.run`, which the server
starts as its ``initialized`` handler and which returns only when the server shuts down:
each folder's ParallelTaskManager context, the message pump that feeds the editor, the
lease poller that notices other processes' leases, and the per-task progress followers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager
from yui_lsp.errors import PlanError, UnknownTaskError
from yui_lsp.protocol import LockRecord, LocksChanged, Message, TaskUpdate
from yui_lsp.server.applier import ApplyOptions, EditorApplier
from yui_lsp.server.documents import EditorDocuments, EditorReader
from yui_lsp.server.lease_board import LeaseBoard, LeaseChange
from yui_lsp.server.relay import relay_others
from yui_lsp.server.review_desk import ReviewDesk
from yui_lsp.server.uris import path_of, rel_in
from yui_lsp.server.wire import EncodedJson, encode_records, wire
from yui_lsp.workspace import LeaseTable
from yui_lsp.workspace.statefault import first_user_error

log = logging.getLogger(__name__)

#: How often the lease table on disk is checked for other processes' changes.
LEASE_POLL_S = 0.5
#: Re-read the table at least this often: leases also end by expiring, with no write.
LEASE_REFRESH_S = 5.0
#: Least time between two lease tables shown to the editor (a table can be megabytes).
LOCKS_SHOW_INTERVAL_S = 1.0
#: Messages waiting for the editor before the host starts dropping (see ``_deliver``).
INBOX_SIZE = 10_000


@dataclass
class Folder:
    """One hosted workspace folder and its coordinator."""

    uri: str
    root: Path
    manager: ParallelTaskManager
    documents: EditorDocuments
    options: ApplyOptions
    applier: EditorApplier | None = None
    #: The lease table as the editor was last shown it.
    leases: LeaseBoard = field(default_factory=LeaseBoard)
    #: The latest ``yui/locksChanged`` payload, built off the event loop.
    locks_wire: EncodedJson | None = None
    #: Whether other coordinators run on the folder (kept by the relay; until it has
    #: looked, assume so).
    others: bool = True
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class Feature(Protocol):
    """A capability fed by the host (progress, diagnostics, notifications)."""

    def on_message(self, folder: Folder, message: Message) -> None: ...

    def on_locks(self, folder: Folder) -> None:
        """``folder.leases`` changed; ``folder.locks_wire`` says how."""


SettingsSource = Callable[[str, Path], Awaitable[Settings]]


class CoordinatorHost:
    """Owns the coordinators and the tasks that connect them to the editor."""

    def __init__(self, server: LanguageServer, settings_for: SettingsSource) -> None:
        self.server = server
        self.review = ReviewDesk()
        self.folders: dict[str, Folder] = {}
        self.features: list[Feature] = []
        self._settings_for = settings_for
        self._tg: TaskGroup | None = None
        self._inbox: MemoryObjectSendStream[tuple[Folder, Message]] | None = None
        #: While the inbox is full: the latest state change of each task and lease table,
        #: delivered once the pump catches up (every other message is dropped).
        self._overflow: dict[tuple[str, str], tuple[Folder, Message]] = {}
        self.dropped = 0
        #: Messages the pump has handed to the features so far (see :meth:`settle`).
        self._handled = 0
        #: Lease tables waiting to be compared and shown, by folder URI (the latest wins).
        self._lock_news: dict[str, tuple[Folder, list[LockRecord]]] = {}
        self._locks_wake = anyio.Event()
        self._stop: anyio.Event | None = None
        self._stopped: anyio.Event | None = None
        self._ready: anyio.Event | None = None
        self._adding: set[str] = set()  # folders being added now
        self._unwanted: set[str] = set()  # of those, the ones removed meanwhile

    # ----------------------------------------------------------------- lifetime

    async def run(self, folders: list[tuple[str, Path]]) -> None:
        """Host ``folders`` (uri, root) until :meth:`stop`; the server's long-lived task."""
        self._stop, self._stopped, self._ready = anyio.Event(), anyio.Event(), anyio.Event()
        send, receive = anyio.create_memory_object_stream[tuple[Folder, Message]](INBOX_SIZE)
        self._inbox = send
        try:
            async with anyio.create_task_group() as tg, send, receive:
                self._tg = tg
                tg.start_soon(self._pump, receive)
                try:
                    for uri, root in folders:
                        await self.add_folder(uri, root)
                finally:
                    self._ready.set()
                tg.start_soon(self._poll_leases)
                tg.start_soon(self._show_locks)
                tg.start_soon(relay_others, self._hosted, self._relay, self._others_present)
                await self._stop.wait()
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            self._stopped.set()

    @property
    def task_group(self) -> TaskGroup:
        if self._tg is None:
            raise RuntimeError("the coordinators are not running")
        return self._tg

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait until the folders open at start-up, and those being added now, are hosted
        (commands may come first)."""
        with anyio.move_on_after(timeout_s):
            while self._ready is None:
                await anyio.sleep(0.01)
            await self._ready.wait()
            while self._adding:  # folders the client added since: a command may name them
                await anyio.sleep(0.01)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every coordinator (their tasks are cancelled) and wait until they are."""
        if self._stop is None or self._stopped is None:
            return
        self._stop.set()
        with anyio.move_on_after(timeout_s):
            await self._stopped.wait()

    async def add_folder(self, uri: str, root: Path) -> None:
        """Start a coordinator for one workspace folder (returns once it runs)."""
        if uri in self.folders or uri in self._adding:
            self._unwanted.discard(uri)  # added again while being added: wanted after all
            return
        self._adding.add(uri)
        try:
            await self.task_group.start(self._host_folder, uri, root)
            if uri in self._unwanted:
                self.remove_folder(uri)
        except Exception as exc:
            # A folder that cannot be hosted (a missing folder, a .yui/ that is someone
            # else's, a full disk) must not take the others down; the user is told why.
            self._say_stopped(root, exc, "cannot coordinate tasks in", started=False)
        finally:
            self._adding.discard(uri)
            self._unwanted.discard(uri)

    def _say_stopped(self, root: Path, exc: Exception, what: str, *, started: bool) -> None:
        said = first_user_error(exc)
        if said is None:
            log.exception("%s %s", what, root)
        else:
            log.warning("%s %s: %s", what, root, said)
        # A user error met at start says itself (it names the folder when that matters).
        message = f"yui: {said}" if said is not None and not started else \
            f"yui: {what} {root}: {said or exc}"
        self.server.window_show_message(lsp.ShowMessageParams(
            type=lsp.MessageType.Error, message=message))

    def remove_folder(self, uri: str) -> None:
        # Gone at once: no command reaches a coordinator that is stopping, and the folder
        # added again right away gets a coordinator of its own.
        folder = self.folders.pop(uri, None)
        if folder is not None:
            folder.scope.cancel()
        elif uri in self._adding:
            self._unwanted.add(uri)  # removed once it runs

    async def _host_folder(self, uri: str, root: Path,
                           *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        settings = await self._settings_for(uri, root)
        documents = EditorDocuments(self.server.workspace, root)
        options = ApplyOptions(apply_mode=settings.apply_mode,
                               save_after_apply=settings.save_after_apply, folder_uri=uri)
        applier = EditorApplier(self.server, documents, self.review, options,
                                settings.backup_retention)
        manager = ParallelTaskManager(
            root, settings=settings, applier=applier, reader=EditorReader(documents), kind="lsp",
        )
        options.on_review = manager.set_review
        options.cancel = manager.cancel
        folder = Folder(uri=uri, root=root, manager=manager, documents=documents,
                        options=options, applier=applier)
        started = False
        try:
            with folder.scope:
                async with manager:
                    remove = manager.bus.add_listener(lambda m: self._deliver(folder, m))
                    self.folders[uri] = folder
                    task_status.started()
                    started = True
                    try:
                        await anyio.sleep_forever()
                    finally:
                        remove()
        except Exception as exc:
            if not started:
                raise  # said by add_folder
            # One folder's coordinator failing must not stop the other folders' ones.
            self._say_stopped(root, exc, "stopped coordinating tasks in", started=True)
        finally:
            if self.folders.get(uri) is folder:
                del self.folders[uri]

    def _deliver(self, folder: Folder, message: Message) -> None:
        # Called inside the coordinator's publish: only queue, never block it.
        if self._inbox is None:
            return
        try:
            self._inbox.send_nowait((folder, message))
        except anyio.WouldBlock:
            # The editor is slow: keep what it must not miss (each task's latest state, the
            # lease table), drop output lines and events.
            key = _overflow_key(folder, message)
            if key is None:
                self.dropped += 1
            else:
                self._overflow[key] = (folder, message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # shutting down, nobody listens any more: dropping is right

    async def settle(self, max_rounds: int = 1000) -> None:
        """Let the pump hand over what is queued now, so a command's answer reaches the
        editor after the notifications of what it did. Only what is queued when it is
        called: messages that keep coming meanwhile do not hold the answer back (and it is
        bounded: never waits for long)."""
        inbox = self._inbox
        if inbox is None:
            return
        target = self._handled + inbox.statistics().current_buffer_used
        for _ in range(max_rounds):
            if self._handled >= target or inbox.statistics().current_buffer_used == 0:
                return
            await anyio.sleep(0)

    async def _pump(self, inbox: Any) -> None:
        async for folder, message in inbox:
            self._handle(folder, message)
            self._handled += 1
            # Only once the queue is empty: what overflowed is newer than all it holds.
            if self._overflow and inbox.statistics().current_buffer_used == 0:
                kept, self._overflow = self._overflow, {}
                for item in kept.values():
                    self._handle(*item)

    def _handle(self, folder: Folder, message: Message) -> None:
        if isinstance(message, LocksChanged):
            self._locks_now(folder, message.locks)
            return
        for feature in self.features:
            try:
                feature.on_message(folder, message)
            except Exception:  # one broken feature must not silence the others
                log.exception("feature %r failed on %s", feature, message.type)

    def _locks_now(self, folder: Folder, locks: list[LockRecord]) -> None:
        self._lock_news[folder.uri] = (folder, locks)
        self._locks_wake.set()

    async def _show_locks(self) -> None:
        """Show changed lease tables to the features, at most once a second."""
        while True:
            await self._locks_wake.wait()
            self._locks_wake = anyio.Event()
            news, self._lock_news = self._lock_news, {}
            for folder, locks in news.values():
                await self.show_locks(folder, locks)
            await anyio.sleep(LOCKS_SHOW_INTERVAL_S)

    async def show_locks(self, folder: Folder, locks: list[LockRecord]) -> None:
        """Show ``locks``, the whole table read now, as the folder's: the features hear of
        the tasks whose leases changed (compared and encoded in a worker thread)."""
        while True:
            prepared = await anyio.to_thread.run_sync(_locks_payload, folder, locks)
            if prepared is None:
                return
            change, payload = prepared
            if folder.leases.commit(change):
                break  # else another table was shown meanwhile: compare with that one
        folder.locks_wire = payload
        for feature in self.features:
            try:
                feature.on_locks(folder)
            except Exception:
                log.exception("feature %r failed on locks", feature)

    async def _poll_leases(self) -> None:
        """Pick up lease changes made by other processes (the CLI, other editor windows)."""
        tables: dict[str, LeaseTable] = {}
        seen: dict[str, tuple[float, float]] = {}
        while True:
            await anyio.sleep(LEASE_POLL_S)
            for uri, folder in list(self.folders.items()):
                table = tables.get(uri)
                if table is None:
                    table = tables[uri] = LeaseTable(
                        folder.root, folder.manager.coordinator_id,
                        folder.manager.settings.lease_ttl_s)
                version = await anyio.to_thread.run_sync(table.table_version)
                last_version, last_read = seen.get(uri, (-1.0, 0.0))
                now = time.monotonic()
                if version == last_version and now - last_read < LEASE_REFRESH_S:
                    continue
                seen[uri] = (version, now)
                locks = await anyio.to_thread.run_sync(folder.manager.locks)
                self._locks_now(folder, locks)

    def _others_present(self, root: Path, present: bool) -> None:
        for folder in self.folders.values():
            if folder.root == root:
                folder.others = present

    def _hosted(self) -> list[tuple[Path, str]]:
        return [(f.root, f.manager.coordinator_id) for f in self.folders.values()]

    def _relay(self, update: TaskUpdate) -> None:
        self.server.protocol.notify("yui/taskUpdate", wire(update))

    # ----------------------------------------------------------------- lookups

    def folder(self, ref: str | None = None) -> Folder:
        """The folder named by ``ref`` (URI or path), or the first one."""
        if not self.folders:
            raise PlanError("no workspace folder is open; open a folder to run tasks in it")
        if not ref:
            return next(iter(self.folders.values()))
        try:
            wanted = path_of(ref) if "://" in ref else Path(ref)
            resolved = wanted.resolve() if wanted is not None else None
        except (ValueError, OSError, RuntimeError):  # a NUL byte, a symlink loop: no folder
            resolved = None
        for folder in self.folders.values():
            if resolved is not None and folder.root == resolved:
                return folder
        raise PlanError(f"{ref!r} is not a workspace folder of this editor")

    def folder_of_task(self, task_id: str) -> Folder:
        for folder in self.folders.values():
            if task_id in folder.manager.monitor_progress():
                return folder
        raise UnknownTaskError(task_id)

    def folder_of_uri(self, uri: str) -> tuple[Folder, str] | None:
        """The folder holding ``uri`` and the path inside it (the deepest folder wins)."""
        best: tuple[Folder, str] | None = None
        for folder in self.folders.values():
            rel = _rel(folder, uri)
            if rel is not None and (best is None or len(str(folder.root)) > len(str(best[0].root))):
                best = (folder, rel)
        return best


def _locks_payload(folder: Folder, locks: list[LockRecord],
                   ) -> tuple[LeaseChange, EncodedJson] | None:
    """How ``locks`` changes the folder's table, and its ``yui/locksChanged`` payload (a
    LocksChangedNotification), or None when nothing changed. Runs in a worker thread."""
    change = folder.leases.change(locks)
    if change is None:
        return None
    head: dict[str, Any] = {"folder": folder.uri}
    if not change.first:
        head["tasks"] = sorted(change.changed)
    return change, encode_records(head, "locks", change.leases())


def _overflow_key(folder: Folder, message: Message) -> tuple[str, str] | None:
    """What a message is the latest state of (kept when the inbox overflows), or None."""
    if isinstance(message, LocksChanged):
        return (folder.uri, "")
    if isinstance(message, TaskUpdate):
        return (folder.uri, message.task_id)
    return None


def _rel(folder: Folder, uri: str) -> str | None:
    return rel_in(folder.root, uri)
