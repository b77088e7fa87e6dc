"""One coordination domain per repository: who is coordinating, their tasks, their controls.

Every coordinator on a repository registers under ``.yui/coordinators/<id>.json``, keeps
its task table in ``.yui/tasks/<id>.json`` and serves a Unix control socket (owner-only, in
the user's runtime folder: see :mod:`yui_lsp.coordinator.rundir`) so
any ``yui status`` / ``yui cancel`` / editor sees and controls every task on the repository.
Entries of coordinators whose process is gone are removed by whoever notices first.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream
from pydantic import BaseModel, Field, ValidationError

from yui_lsp.coordinator import glance
from yui_lsp.coordinator.rundir import socket_path
from yui_lsp.errors import UnknownTaskError, YuiError
from yui_lsp.protocol import TaskInfo, utcnow
from yui_lsp.workspace.filesystem import describe
from yui_lsp.workspace.statedir import write_atomic

ControlHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CoordinatorEntry(BaseModel):
    """A live coordinator as registered under ``.yui/coordinators/``."""

    #: Names its files under ``.yui/``: no path separator, nothing to walk out with.
    coordinator_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    pid: int
    host: str
    socket: str
    started_at: str
    kind: str = "cli"


class CoordinatorSilentError(YuiError):
    """The coordinator owning a task is alive but does not answer its control socket."""


#: How long a coordinator has to answer a control request.
_ANSWER_S = 5.0


def _yui_dir(root: Path) -> Path:
    return root / ".yui"


def _refuse_other_hosts(root: Path, others: list[CoordinatorEntry]) -> None:
    """Refuse to share a repository with another host where its locks can't be trusted."""
    fs = describe(root)
    if fs.locks_across_hosts:
        return
    other = others[0]
    raise YuiError(
        f"a yui coordinator on host {other.host!r} (pid {other.pid}) is using this repository, "
        f"and it lives on {fs.type}, where file locks are not trusted between machines: run "
        "yui on one host at a time (if that coordinator is gone, delete "
        f".yui/coordinators/{other.coordinator_id}.json)"
    )


def live_coordinators(root: Path) -> list[CoordinatorEntry]:
    """Registered coordinators whose process is alive; dead ones are cleaned up."""
    folder = _yui_dir(root) / "coordinators"
    entries: list[CoordinatorEntry] = []
    if not folder.is_dir():
        return entries
    for path in sorted(folder.glob("*.json")):
        # An entry names a socket yui connects to and removes: only the user's own count.
        try:
            entry = CoordinatorEntry.model_validate(glance.read_json(path))
        except ValidationError:
            continue
        if entry.coordinator_id != path.stem:
            continue  # not how yui writes an entry: nothing it names is touched
        if glance.alive_here(entry.host, entry.pid):
            entries.append(entry)
        else:
            _remove_entry(root, entry.coordinator_id, entry.socket)
    return entries


def _remove_entry(root: Path, coordinator_id: str, sock: str) -> None:
    for path in (
        _yui_dir(root) / "coordinators" / f"{coordinator_id}.json",
        _yui_dir(root) / "tasks" / f"{coordinator_id}.json",
    ):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    # Only the socket yui made for this entry: an entry is a file in the repository (a clone
    # can carry one) and could name any socket of the user's (a desktop bus, an agent's).
    if sock != str(socket_path(root, coordinator_id)):
        return
    with contextlib.suppress(OSError, ValueError):  # gone already
        if stat.S_ISSOCK(os.lstat(sock).st_mode):
            os.unlink(sock)


def all_tasks(root: Path) -> list[TaskInfo]:
    """Every task of every live coordinator on the repository, as last published."""
    tasks: list[TaskInfo] = []
    for entry in live_coordinators(root):
        path = _yui_dir(root) / "tasks" / f"{entry.coordinator_id}.json"
        table = glance.read_json(path)
        for item in table if isinstance(table, list) else ():
            with contextlib.suppress(ValidationError):
                tasks.append(TaskInfo.model_validate(item))
    return tasks


async def request(entry: CoordinatorEntry, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one request to a coordinator's control socket and return its answer."""
    with anyio.fail_after(_ANSWER_S):
        stream = await anyio.connect_unix(entry.socket)
        async with stream:
            await stream.send(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = await stream.receive(65536)
                data += chunk
    answer: dict[str, Any] = json.loads(data)
    return answer


async def control(root: Path, op: str, task_id: str) -> dict[str, Any]:
    """Ask whichever live coordinator owns ``task_id`` to ``op`` it (cancel, retry)."""
    silent: list[tuple[CoordinatorEntry, str]] = []
    for entry in live_coordinators(root):
        try:
            answer = await request(entry, {"op": op, "task_id": task_id})
        except TimeoutError:
            silent.append((entry, f"did not answer within {_ANSWER_S:.0f} s (stopped, e.g. "
                                  f"with Ctrl-Z? resume it with `fg` or `kill -CONT "
                                  f"{entry.pid}`); it may still {op} the task when it resumes"))
            continue
        except OSError as exc:
            silent.append((entry, f"cannot be reached at its control socket {entry.socket} "
                                  f"({exc.strerror or exc}; was it deleted?); end that process "
                                  "to stop its tasks"))
            continue
        except (ValueError, anyio.EndOfStream):
            continue
        if answer.get("ok"):
            return answer
        if answer.get("error") and answer.get("code") != "unknown_task":
            raise YuiError(str(answer["error"]))
    for entry, why in silent:
        if _lists(root, entry, task_id):
            raise CoordinatorSilentError(
                f"task {task_id!r} belongs to the yui {entry.kind} process pid {entry.pid}, "
                f"which {why}")
    raise UnknownTaskError(task_id)


def _lists(root: Path, entry: CoordinatorEntry, task_id: str) -> bool:
    table = glance.read_json(_yui_dir(root) / "tasks" / f"{entry.coordinator_id}.json")
    return isinstance(table, list) and any(
        isinstance(item, dict) and isinstance(item.get("task"), dict)
        and item["task"].get("id") == task_id for item in table)


class DomainMembership:
    """This coordinator's presence in the domain: registry entry, task table, socket."""

    def __init__(self, root: Path, coordinator_id: str, kind: str) -> None:
        self.root = root
        self.coordinator_id = coordinator_id
        self.kind = kind
        self.socket = socket_path(root, coordinator_id)

    def register(self) -> None:
        entry = CoordinatorEntry(
            coordinator_id=self.coordinator_id,
            pid=os.getpid(),
            host=socket.gethostname(),
            socket=str(self.socket),
            started_at=utcnow().isoformat(),
            kind=self.kind,
        )
        # Sweeps the dead while we're here.
        elsewhere = [e for e in live_coordinators(self.root) if e.host != entry.host]
        if elsewhere:
            _refuse_other_hosts(self.root, elsewhere)
        write_atomic(
            _yui_dir(self.root) / "coordinators" / f"{self.coordinator_id}.json",
            entry.model_dump_json().encode(),
        )

    def publish_json(self, data: bytes) -> None:
        """Replace this coordinator's task table (a JSON list of TaskInfo)."""
        write_atomic(_yui_dir(self.root) / "tasks" / f"{self.coordinator_id}.json", data)

    def unregister(self) -> None:
        _remove_entry(self.root, self.coordinator_id, str(self.socket))

    async def serve(
        self, handler: ControlHandler, *, task_status: Any = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve the control socket until cancelled (owner-only permissions)."""
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        old_umask = os.umask(0o177)
        try:
            listener = await anyio.create_unix_listener(self.socket)
        finally:
            os.umask(old_umask)
        os.chmod(self.socket, 0o600)

        async def answer(stream: SocketStream) -> None:
            async with stream:
                try:
                    with anyio.fail_after(_ANSWER_S):
                        data = b""
                        while not data.endswith(b"\n") and len(data) < 65536:
                            data += await stream.receive(65536)
                    reply = await handler(json.loads(data))
                except (ValueError, TimeoutError, anyio.EndOfStream) as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                except YuiError as exc:
                    reply = {
                        "ok": False,
                        "error": str(exc),
                        "code": "unknown_task" if isinstance(exc, UnknownTaskError) else "error",
                    }
                with contextlib.suppress(anyio.BrokenResourceError, OSError):
                    await stream.send(json.dumps(reply).encode() + b"\n")

        async with listener:
            task_status.started()
            await listener.serve(answer)
