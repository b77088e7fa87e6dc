"""The protocol's stdout, written without ever blocking the event loop.

A message to the editor is a write to a pipe; when the editor reads slowly (it is busy, or a
lease table of thousands of records is large) a plain write waits until the editor has read
it, and meanwhile the server answers nothing. Here a message is written at once only as far
as the descriptor takes it without waiting (``RWF_NOWAIT``, where the system has it), and
whatever is left is handed to one writer thread, which writes in order; only when more than
``max_pending`` bytes wait does a write wait too, so memory stays bounded.

Writing at once spares each answer a hand-off to the writer thread, which on a machine whose
idle cores sleep costs up to milliseconds. A message never overtakes one the thread still
writes, and never lands inside it: the direct write happens only while nothing is pending.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

log = logging.getLogger(__name__)

#: Bytes that may wait for the editor before a write waits for the writer thread.
MAX_PENDING = 64 * 1024 * 1024

#: The flag that makes a write return instead of waiting (Linux), or None.
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)

#: What a descriptor answers when it cannot write without waiting, or not at its position.
_NOWAIT_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ESPIPE, errno.ENOSYS})


class BackgroundStdout:
    """A write-only binary stream whose ``write`` returns at once (see the module doc)."""

    def __init__(self, raw: BinaryIO, max_pending: int = MAX_PENDING) -> None:
        self._raw = raw
        self._max_pending = max_pending
        self._pending = 0
        self._room = threading.Condition()
        # One worker: messages reach the editor in the order they were written.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yui-stdout")
        self._direct = _NOWAIT is not None

    def write(self, data: bytes) -> int:
        size = len(data)
        with self._room:
            written = self._write_now(data) if self._direct and not self._pending else 0
            if written == size:
                return size
            rest = bytes(data[written:])
            # A message cut short was written while nothing was pending, so this does not
            # wait (and let another message in between): its rest is queued first.
            while self._pending and self._pending + len(rest) > self._max_pending:
                self._room.wait()
            self._pending += len(rest)
            self._writer.submit(self._write, rest)
        return size

    def _write_now(self, data: bytes) -> int:
        """As much of ``data`` as the descriptor takes without waiting; all of it when the
        editor went away (nothing more can reach it)."""
        try:
            self._raw.flush()
            return os.pwritev(self._raw.fileno(), [data], -1, _NOWAIT or 0)
        except BlockingIOError:
            return 0
        except (BrokenPipeError, ValueError):
            return len(data)
        except OSError as exc:
            # This descriptor cannot say "would wait" (or fails): the thread writes, and
            # reports what fails there.
            self._direct = False
            if exc.errno not in _NOWAIT_UNSUPPORTED:
                log.warning("writing to the editor at once failed (%s); writing from a thread",
                            exc)
            return 0

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
