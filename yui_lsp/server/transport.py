"""Socket transports of the language server, closed to other local users.

Whoever talks to the server can run commands as the server's user (``yui.submitTask`` with
the ``shell`` agent), so a socket must not be open to every account on the machine:

* ``--socket PATH``: a Unix socket only its owner can connect to (0600, in a folder of the
  owner's that nobody else may write). The preferred way when the editor can use one.
* ``--tcp PORT``: 127.0.0.1 is reachable by every local account, so the first message of a
  connection must be ``initialize`` carrying ``initializationOptions.yuiToken``; anything
  else is answered with an error and the connection closed. The token is read from
  ``--token-file`` (a file only its owner can read and write) or made up at start, written
  to such a file and printed once on stderr.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import platformdirs
from pygls.lsp.server import LanguageServer

from yui_lsp.errors import YuiError
from yui_lsp.server.incoming import serve_messages

log = logging.getLogger(__name__)

#: Key of ``initializationOptions`` that carries the TCP token.
TOKEN_OPTION = "yuiToken"
_MAX_FIRST_MESSAGE = 1 << 20


class TransportError(YuiError):
    """The server's socket or token file cannot be used safely."""


# --------------------------------------------------------------------------- token


def _owner_only(path: Path, what: str) -> os.stat_result:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise TransportError(
            f"{what} {path} must be a file of your own that only you can read and write "
            f"(chmod 600 {path}); it is not, so the server did not start"
        )
    return st


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise TransportError(
            f"{folder} must be a folder of your own that nobody else can write in (else "
            "someone could swap the file or socket there); pick another place"
        )
    return folder


def load_token(token_file: Path | None, port: int) -> tuple[str, Path, bool]:
    """(token, the file holding it, whether it was made up now)."""
    path = token_file or Path(platformdirs.user_runtime_dir("yui-lsp")) / f"tcp-{port}.token"
    _private_folder(path.parent)
    if token_file is not None and os.path.lexists(path):
        _owner_only(path, "the token file")
        token = path.read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise TransportError(f"the token in {path} is shorter than 16 characters")
        return token, path, False
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token, path, True


# --------------------------------------------------------------------------- framing


class _Replay:
    """A stream reader that first hands out ``prefix``, then reads from ``reader``."""

    def __init__(self, prefix: bytes, reader: asyncio.StreamReader) -> None:
        self._buffer = prefix
        self._reader = reader

    async def readline(self) -> bytes:
        if self._buffer:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                return line
            line, self._buffer = self._buffer, b""
            return line + await self._reader.readline()
        return await self._reader.readline()

    async def readexactly(self, n: int) -> bytes:
        head, self._buffer = self._buffer[:n], self._buffer[n:]
        if len(head) < n:
            head += await self._reader.readexactly(n - len(head))
        return head


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _first_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    length = 0
    while True:
        header = await reader.readline()
        if not header:
            return None
        if not header.strip():
            break
        name, _, value = header.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip()) if value.strip().isdigit() else 0
    if not 0 < length <= _MAX_FIRST_MESSAGE:
        return None
    try:
        message = json.loads(await reader.readexactly(length))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def authorised(message: dict[str, Any] | None, token: str) -> bool:
    """Whether ``message`` is an ``initialize`` request carrying ``token``."""
    if message is None or message.get("method") != "initialize":
        return False
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = options.get(TOKEN_OPTION) if isinstance(options, dict) else None
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())


def _without_token(message: dict[str, Any]) -> dict[str, Any]:
    options = dict(message["params"]["initializationOptions"])
    options.pop(TOKEN_OPTION, None)
    return {**message, "params": {**message["params"], "initializationOptions": options}}


# --------------------------------------------------------------------------- serving


class _Session:
    """Runs one authorised client at a time through pygls' own message loop."""

    def __init__(self, server: LanguageServer, token: str | None) -> None:
        self.server = server
        self.token = token
        self.busy = False
        self.stop = threading.Event()
        server._stop_event = self.stop

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        prefix = b""
        if self.token is not None:
            try:
                first = await asyncio.wait_for(_first_message(reader), timeout=30)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                first = None
            if self.busy or not authorised(first, self.token):
                await _refuse(writer, first, "another client is connected" if self.busy
                              else f"send initializationOptions.{TOKEN_OPTION} (see `yui lsp "
                              "--help`): this server only serves its owner")
                return
            assert first is not None
            prefix = frame(_without_token(first))
        elif self.busy:
            await _refuse(writer, None, "another client is connected")
            return
        self.busy = True
        self.server.protocol.set_writer(writer)
        await serve_messages(self.stop, _Replay(prefix, reader), self.server.protocol)
        self.server.shutdown()  # type: ignore[no-untyped-call]


async def _refuse(writer: asyncio.StreamWriter, first: dict[str, Any] | None, why: str) -> None:
    log.warning("refused a connection: %s", why)
    request_id = first.get("id") if first is not None else None
    with_id = {"id": request_id} if request_id is not None else {}
    try:
        writer.write(frame({"jsonrpc": "2.0", **with_id,
                            "error": {"code": -32600, "message": f"yui-lsp: {why}"}}))
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


def serve_tcp(server: LanguageServer, host: str, port: int, token_file: Path | None) -> None:
    """Serve LSP on ``host:port`` to clients that present the token."""
    token, path, made = load_token(token_file, port)
    if made:
        print(f"yui-lsp: TCP clients must send initializationOptions.{TOKEN_OPTION} = "
              f"{token} (also in {path}, readable only by you)", file=sys.stderr, flush=True)
    session = _Session(server, token)

    async def main() -> None:
        try:
            listener = await asyncio.start_server(session, host, port)
        except OSError as exc:
            raise TransportError(
                f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}"
                " (another program, maybe another yui-lsp, uses that port: pick another "
                "--tcp PORT)") from None
        server._server = listener
        log.info("serving on %s:%s (token in %s)", host, port, path)
        async with listener:
            await listener.serve_forever()

    _run(main)


def serve_unix(server: LanguageServer, path: Path) -> None:
    """Serve LSP on a Unix socket at ``path`` that only this user can connect to."""
    _private_folder(path.parent)
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise TransportError(f"{path} exists and is not a socket; pick another path")
        path.unlink()
    session = _Session(server, None)

    async def main() -> None:
        old = os.umask(0o177)  # the socket is owner-only from the moment it exists
        try:
            listener = await asyncio.start_unix_server(session, path)
        finally:
            os.umask(old)
        server._server = listener
        log.info("serving on %s", path)
        async with listener:
            await listener.serve_forever()

    try:
        _run(main)
    finally:
        path.unlink(missing_ok=True)


def _run(main: Any) -> None:
    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        log.debug("server cancelled")
