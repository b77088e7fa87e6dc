"""A task's agent output for the editor: what it printed so far, then live as it prints.

The source is the task's log under ``.yui/logs/<id>.log`` (``[stdout] ...`` / ``[stderr]
...`` lines, written by every coordinator on the repository), so the same code serves this
server's tasks and tasks started elsewhere (``yui run`` in a terminal), while they run and
after they ended. A followed task's new lines go out as ``yui/taskLog`` notifications until
the task ends (the last one says ``done``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import anyio
from pygls.lsp.server import LanguageServer

from yui_lsp.errors import UnknownTaskError
from yui_lsp.server.params import LogLine, TaskLogNotification
from yui_lsp.server.wire import wire

#: How often a followed log is checked for new lines.
FOLLOW_POLL_S = 0.2
_PREFIXES = {"[stdout] ": "stdout", "[stderr] ": "stderr"}
#: What Task ids look like (protocol.Task): never a path leading elsewhere.
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def log_path(root: Path, task_id: str) -> Path:
    """Where a task's log is; an id that is not a task id names no file (UnknownTaskError)."""
    if not _TASK_ID.fullmatch(task_id):
        raise UnknownTaskError(task_id)
    return root / ".yui" / "logs" / f"{task_id}.log"


def parse_lines(data: bytes) -> list[LogLine]:
    """Log lines as the agent printed them (yui's own lines come as ``event``)."""
    lines: list[LogLine] = []
    for raw in data.decode("utf-8", errors="replace").splitlines():
        stream = "event"
        for prefix, name in _PREFIXES.items():
            if raw.startswith(prefix):
                stream, raw = name, raw[len(prefix):]
                break
        if stream == "stderr" and raw.startswith("[yui] "):
            stream, raw = "event", raw[len("[yui] "):]
        lines.append(LogLine(stream=stream, line=raw))  # type: ignore[arg-type]
    return lines


def read_log(root: Path, task_id: str, offset: int = 0) -> tuple[bytes, int]:
    """The complete lines of the log from ``offset`` on, and the offset after them."""
    try:
        with log_path(root, task_id).open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return b"", offset
    end = data.rfind(b"\n") + 1
    return data[:end], offset + end


class TaskLogs:
    """Reads logs and runs the followers (one per followed task)."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._following: dict[str, anyio.CancelScope] = {}

    def following(self, task_id: str) -> bool:
        return task_id in self._following

    def stop(self, task_id: str) -> None:
        scope = self._following.pop(task_id, None)
        if scope is not None:
            scope.cancel()

    async def follow(self, root: Path, task_id: str, title: str, offset: int,
                     ended: Callable[[], bool]) -> None:
        """Send the log's new lines from ``offset`` until the task ends (a host task)."""
        with anyio.CancelScope() as scope:
            self._following[task_id] = scope
            try:
                while True:
                    finished = await anyio.to_thread.run_sync(ended)
                    data, offset = await anyio.to_thread.run_sync(read_log, root, task_id,
                                                                  offset)
                    fresh = parse_lines(data)
                    if fresh or finished:
                        self._server.protocol.notify("yui/taskLog", wire(TaskLogNotification(
                            task_id=task_id, title=title, lines=fresh, done=finished)))
                    if finished:
                        return
                    await anyio.sleep(FOLLOW_POLL_S)
            finally:
                if self._following.get(task_id) is scope:
                    del self._following[task_id]
