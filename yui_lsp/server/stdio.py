"""The language server over stdin/stdout, with stdin read on the event loop.

pygls reads stdin through its thread pool one ``readline`` or ``read`` at a time: the
``Content-Length`` line, the blank line and the body are each a round trip from the event
loop to a pool thread and back, so every request wakes threads six times before its
handler runs. On a machine whose idle cores sleep (a virtual machine halts idle vCPUs),
each wake-up costs up to milliseconds, and they add up in every answer's latency.

Here the loop watches stdin itself and reads whatever arrived into an
``asyncio.StreamReader`` once the descriptor is readable: a request reaches its handler after
a single wake of the loop. The descriptor's mode, which every process sharing it would see,
is left alone: a read after "readable" returns what is there without waiting. A stdin the
loop cannot watch (a regular file, ``/dev/null``) is read by one thread instead, which hands
each chunk to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from typing import BinaryIO

from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from yui_lsp.server.incoming import serve_messages
from yui_lsp.server.wire import YuiProtocol

log = logging.getLogger(__name__)

#: Most bytes one read of stdin takes.
CHUNK = 1 << 16


class StdinReader:
    """pygls' reader interface (``readline``, ``readexactly``) over a stream filled from
    ``fd`` by the loop, or by one daemon thread where the loop cannot watch ``fd``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        # No line limit: a header line is short, and the limit would only turn a client's
        # garbage into an exception instead of a message pygls refuses.
        self._stream = asyncio.StreamReader(limit=sys.maxsize)
        self._loop = asyncio.get_running_loop()
        try:
            self._loop.add_reader(fd, self._on_readable)
        except (OSError, NotImplementedError, ValueError):
            threading.Thread(target=self._pump, name="yui-stdin", daemon=True).start()

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._fd, CHUNK)
        except BlockingIOError:  # another holder of the descriptor took it first
            return
        except OSError as exc:
            log.error("reading the client's messages failed: %s", exc)
            chunk = b""
        if chunk:
            self._stream.feed_data(chunk)
        else:
            self._loop.remove_reader(self._fd)
            self._stream.feed_eof()

    def _pump(self) -> None:
        try:
            while chunk := os.read(self._fd, CHUNK):
                self._loop.call_soon_threadsafe(self._stream.feed_data, chunk)
        except OSError as exc:
            log.error("reading the client's messages failed: %s", exc)
        except RuntimeError:
            return  # the loop is closed: the server has stopped
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            self._loop.call_soon_threadsafe(self._stream.feed_eof)

    async def readline(self) -> bytes:
        return await self._stream.readline()

    async def readexactly(self, n: int) -> bytes:
        """``n`` bytes, or none when the client closed stdin first: half a message is no
        message, and pygls ends its loop on an empty read."""
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


def serve_stdio(server: LanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve the client on ``stdin``/``stdout`` until it exits or closes stdin (pygls'
    ``start_io``, with :class:`StdinReader` as its reader and the checks of
    :mod:`yui_lsp.server.incoming`)."""
    stop = threading.Event()
    server._stop_event = stop  # pygls' shutdown sets it to end the loop below
    server.protocol.set_writer(StdoutWriter(stdout))

    async def serve() -> None:
        await serve_messages(stop, StdinReader(stdin.fileno()), server.protocol)
        # The client may close its end right behind ``shutdown`` and ``exit``.
        if isinstance(server.protocol, YuiProtocol):
            await server.protocol.wind_down()

    try:
        asyncio.run(serve())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
