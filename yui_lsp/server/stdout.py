"""The protocol's stdout, written without ever blocking the event loop.

A message to the editor is a write to a pipe; when the editor reads slowly (it is busy, or a
lease table of thousands of records is large) a plain write waits until the editor has read
it, and meanwhile the server answers nothing. Here each message is handed to one writer
thread, which writes them in order; only when more than ``max_pending`` bytes wait does a
write wait too, so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

log = logging.getLogger(__name__)

#: Bytes that may wait for the editor before a write waits for the writer thread.
MAX_PENDING = 64 * 1024 * 1024


class BackgroundStdout:
    """A write-only binary stream whose ``write`` returns at once (see the module doc)."""

    def __init__(self, raw: BinaryIO, max_pending: int = MAX_PENDING) -> None:
        self._raw = raw
        self._max_pending = max_pending
        self._pending = 0
        self._room = threading.Condition()
        # One worker: messages reach the editor in the order they were written.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yui-stdout")

    def write(self, data: bytes) -> int:
        size = len(data)
        with self._room:
            while self._pending and self._pending + size > self._max_pending:
                self._room.wait()
            self._pending += size
        self._writer.submit(self._write, bytes(data))
        return size

    def _write(self, data: bytes) -> None:
        try:
            with contextlib.suppress(BrokenPipeError, ValueError):  # the editor went away
                self._raw.flush()
                _write_all(self._raw.fileno(), data)
        except OSError:
            log.exception("writing a message to the editor failed")
        finally:
            with self._room:
                self._pending -= len(data)
                self._room.notify_all()

    def flush(self) -> None:
        """Nothing to do here: the writer thread flushes after each message."""

    def close(self) -> None:
        """Write what waits, then stop the writer thread."""
        self._writer.shutdown(wait=True)


def _write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data`` to ``fd``, in order, whatever its mode.

    A message cut short corrupts the stream for good (the client reads the next message as
    the rest of this one), so a short write is continued and a descriptor that is (or
    becomes) non-blocking is waited on until it takes more: the protocol's stdout is shared
    with whatever else holds the same open pipe or terminal and may set it non-blocking.
    """
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]
