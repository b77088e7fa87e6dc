"""Agent processes started and awaited without holding up the event loop.

``asyncio.create_subprocess_exec`` (which anyio's ``open_process`` uses) forks on the event
loop and waits there until the child has exec'd, then starts a thread to wait for its exit
and waits again until that thread runs: tens of milliseconds per agent on a busy machine,
during which the language server answers nobody. Here ``Popen`` runs in a worker thread,
the pipes join the loop as asyncio streams, and the exit is seen through a pidfd the loop
watches (or, where the OS has none, a thread that waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO

import anyio

#: Most bytes a stream buffers before its reader must catch up.
STREAM_LIMIT = 1 << 16


class Spawned:
    """A started process leading its own session: asyncio streams on its pipes."""

    def __init__(self, popen: subprocess.Popen[bytes], stdin: asyncio.StreamWriter | None,
                 stdout: asyncio.StreamReader, stderr: asyncio.StreamReader,
                 exited: asyncio.Event, transports: list[asyncio.BaseTransport]) -> None:
        self._popen = popen
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._exited = exited
        self._transports = transports

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """The exit code, once the process has exited (it is reaped then)."""
        await self._exited.wait()
        code = self._popen.poll()
        assert code is not None
        return code

    async def aclose(self) -> None:
        """Close our ends of the pipes (the process is not signalled: see ``stop_group``)."""
        if self.stdin is not None:
            with contextlib.suppress(OSError):
                self.stdin.close()
        for transport in self._transports:
            transport.close()


async def spawn(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                stdin: bool, limit: int = STREAM_LIMIT) -> Spawned:
    """Start ``argv`` in a new session with piped stdout/stderr (and stdin if ``stdin``).

    Raises what ``Popen`` raises when the program cannot be started (FileNotFoundError,
    PermissionError).
    """
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=dict(env),
            start_new_session=True)

    popen = await anyio.to_thread.run_sync(start)
    loop = asyncio.get_running_loop()
    try:
        exited = _exit_event(popen, loop)
        transports: list[asyncio.BaseTransport] = []
        readers = []
        for pipe in (popen.stdout, popen.stderr):
            assert pipe is not None
            reader = asyncio.StreamReader(limit=limit)
            transport, _ = await loop.connect_read_pipe(
                partial(asyncio.StreamReaderProtocol, reader), pipe)
            transports.append(transport)
            readers.append(reader)
        writer = None
        if popen.stdin is not None:
            writer = await _writer(loop, popen.stdin)
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(popen.wait)
        raise
    return Spawned(popen, writer, readers[0], readers[1], exited, transports)


async def _writer(loop: asyncio.AbstractEventLoop, pipe: IO[bytes]) -> asyncio.StreamWriter:
    protocol = asyncio.StreamReaderProtocol(asyncio.StreamReader())
    transport, _ = await loop.connect_write_pipe(lambda: protocol, pipe)
    return asyncio.StreamWriter(transport, protocol, None, loop)


def _exit_event(popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop,
                ) -> asyncio.Event:
    """An event set on the loop once ``popen`` has exited (and is reaped)."""
    exited = asyncio.Event()
    try:
        pidfd = os.pidfd_open(popen.pid)
    except (AttributeError, OSError):
        def wait() -> None:
            popen.wait()
            with contextlib.suppress(RuntimeError):  # the loop is gone
                loop.call_soon_threadsafe(exited.set)

        threading.Thread(target=wait, name=f"yui-wait-{popen.pid}", daemon=True).start()
        return exited

    def readable() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        popen.poll()  # reaps it: the exit status is there now
        exited.set()

    loop.add_reader(pidfd, readable)
    return exited
