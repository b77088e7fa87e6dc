"""The audit trail: every bus message appended to ``.yui/audit.jsonl``, secrets redacted."""

from __future__ import annotations

import os
from pathlib import Path

from yui_lsp.protocol import LocksChanged, Message
from yui_lsp.redact import redact
from yui_lsp.workspace.statedir import open_private


class AuditLog:
    """Append-only JSON-lines log of protocol messages (one ``write`` per batch of lines).

    Messages are taken in on the event loop (a list append) and written by :meth:`write`
    from a worker thread: serialising and redacting a message can take milliseconds (a
    lease table of thousands of records), which the loop answering the editor cannot spare.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # O_APPEND keeps lines from several coordinators whole: each batch is one write().
        # Owner-only, and never through a symlink someone left there.
        self._fd = open_private(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        self._pending: list[Message] = []
        #: Whether the last write may have left a line cut short (a full disk).
        self._cut = False
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        # A crash or power cut can leave the last line cut short: the next line would be
        # glued to it and lost to every reader. The cut line is kept, on a line of its own.
        # (Another coordinator's append is one write(), whole before and after this check.)
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")

    def __call__(self, message: Message) -> bool:
        """Take ``message`` in; False when the audit does not keep its kind: a whole lease
        table (megabytes with thousands of leases, up to five a second) is a snapshot of the
        lease files, and the audit keeps the lease_acquired / lease_released events instead."""
        if isinstance(message, LocksChanged):
            return False
        self._pending.append(message)
        return True

    def take(self) -> list[Message]:
        """The messages taken in since the last call (on the event loop)."""
        batch, self._pending = self._pending, []
        return batch

    def give_back(self, batch: list[Message]) -> None:
        """Take ``batch`` in again, before what came since (its write failed)."""
        self._pending[:0] = batch

    def write(self, batch: list[Message]) -> None:
        """Append ``batch`` (blocking: call it from a worker thread)."""
        if batch and self._fd >= 0:
            lines = "".join(redact(m.model_dump_json()) + "\n" for m in batch)
            data = lines.encode("utf-8")
            if self._cut:
                data = b"\n" + data  # after a write the disk cut short
            self._cut = True  # until the whole batch is down
            while data:
                data = data[os.write(self._fd, data):]
            self._cut = False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
