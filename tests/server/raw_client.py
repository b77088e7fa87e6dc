"""A client that talks to the real server process in raw bytes: whatever a broken or hostile
client could put on the wire, framed or not, and the answers read back as JSON-RPC."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.server.conftest import make_repo

#: Every wait for an answer is bounded by this many seconds.
WAIT_S = 30.0


def frame_bytes(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def frame(message: Any) -> bytes:
    return frame_bytes(json.dumps(message).encode())


class RawServer:
    """``python -m yui_lsp`` on stdio; answers are read by a thread into a queue, stderr
    goes to a file the test reads."""

    def __init__(self, root: Path | None, cache: Path) -> None:
        cache.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.stderr_path = cache / "server-stderr.log"
        self._stderr = self.stderr_path.open("wb")
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "CI": "true"}
        self.process = subprocess.Popen([sys.executable, "-m", "yui_lsp"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._stderr)
        self.cache = cache
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self._next_id = 1000
        threading.Thread(target=self._read, daemon=True).start()

    # ----------------------------------------------------------------- reading

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None, "the server sent a message without Content-Length"
            body = out.read(length)
            self.messages.put(json.loads(body))

    def next_message(self, timeout: float = WAIT_S) -> dict[str, Any]:
        message = self.messages.get(timeout=timeout)
        if message is None:
            raise AssertionError(f"the server closed its output:\n{self.stderr()}")
        return message

    def answer(self, request_id: Any, timeout: float = WAIT_S) -> dict[str, Any]:
        """The response to ``request_id``; server requests are answered, notifications
        kept."""
        while True:
            message = self.next_message(timeout)
            if "method" in message:
                self._serve(message)
            elif "id" in message and message["id"] == request_id and type(
                    message["id"]) is type(request_id):
                return message
            else:
                self.notifications.append(message)  # an answer to someone else

    def _serve(self, message: dict[str, Any]) -> None:
        """Answer what the server asks of a client (configuration, progress tokens)."""
        if "id" not in message:
            self.notifications.append(message)
            return
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [None for _ in message["params"]["items"]]
        self.send(frame({"jsonrpc": "2.0", "id": message["id"], "result": result}))

    # ----------------------------------------------------------------- writing

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))

    def request(self, method: str, params: Any = None,
                timeout: float = WAIT_S) -> dict[str, Any]:
        """Send a request and return the whole response (``result`` or ``error``)."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))
        return self.answer(self._next_id, timeout)

    def command(self, name: str, *arguments: Any) -> dict[str, Any]:
        return self.request("workspace/executeCommand",
                            {"command": name, "arguments": list(arguments)})

    def initialize(self, options: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.root is not None
        uri = self.root.as_uri()
        answer = self.request("initialize", {
            "processId": None, "rootUri": uri, "capabilities": {},
            "workspaceFolders": [{"uri": uri, "name": self.root.name}],
            "initializationOptions": {"sandboxDir": str(self.cache / "sandboxes"),
                                      **(options or {})}})
        self.notify("initialized", {})
        return answer

    def assert_serving(self, stderr_before: int) -> None:
        """The server answers a normal request, sent no error answer nor pygls' "Error in
        server" message (an exception it did not expect) for anything else meanwhile, and
        printed no traceback since ``stderr_before``."""
        listed = self.command("yui.listTasks", {})
        assert "result" in listed, listed
        stray = [m for m in self.notifications if "error" in m or (
            m.get("method") == "window/showMessage"
            and "Error in server" in m["params"]["message"])]
        self.notifications.clear()
        assert not stray, stray
        written = self.stderr()[stderr_before:]
        assert "Traceback" not in written, written

    # ----------------------------------------------------------------- ending

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        """Shut down as a client should; kill what does not stop."""
        if self.process.poll() is None:
            try:
                self.request("shutdown", timeout=WAIT_S)
                self.notify("exit")
                self.process.wait(timeout=WAIT_S)
            except (AssertionError, OSError, queue.Empty, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._stderr.close()


@contextmanager
def serving(tmp: Path, options: dict[str, Any] | None = None) -> Iterator[RawServer]:
    """An initialized server on a fresh repository under ``tmp``, shut down afterwards."""
    running = RawServer(make_repo(tmp / "repo"), tmp / "cache")
    try:
        assert "result" in running.initialize(options)
        yield running
    finally:
        running.close()
