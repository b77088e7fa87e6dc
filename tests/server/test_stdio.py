"""The server's stdin (server/stdio.py), read on the event loop or, where the loop cannot
watch it, by a thread: messages cut anywhere, sent all at once, or cut short by a client
that goes away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"capabilities": {}, "processId": None}}
SHUTDOWN = {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def start() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "yui_lsp"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_message_arriving_a_few_bytes_at_a_time_is_answered() -> None:
    server = start()
    assert server.stdin is not None
    data = frame(INITIALIZE)
    for at in range(0, len(data), 7):  # the header line and the body cut anywhere
        server.stdin.write(data[at:at + 7])
        server.stdin.flush()
        time.sleep(0.001)
    out, err = server.communicate(frame(SHUTDOWN) + frame(EXIT), timeout=60)
    assert b'"id": 1' in out and b'"capabilities"' in out, err.decode()
    assert server.returncode == 0


def test_shutdown_and_exit_sent_at_once_are_both_honoured() -> None:
    done = subprocess.run([sys.executable, "-m", "yui_lsp"],
                          input=frame(INITIALIZE) + frame(SHUTDOWN) + frame(EXIT),
                          capture_output=True, timeout=60)
    assert b'"id": 2' in done.stdout, "shutdown is answered before the process ends"
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr, done.stderr.decode()


def test_exit_right_behind_shutdown_waits_for_the_coordinators_to_stop(
        tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    server = subprocess.Popen([sys.executable, "-m", "yui_lsp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert server.stdin is not None and server.stdout is not None
    init = {**INITIALIZE, "params": {"capabilities": {}, "processId": None,
                                     "rootUri": tmp_path.as_uri()}}
    listed = {"jsonrpc": "2.0", "id": 7, "method": "workspace/executeCommand",
              "params": {"command": "yui.listTasks", "arguments": [{}]}}
    server.stdin.write(frame(init) + frame({"jsonrpc": "2.0", "method": "initialized",
                                            "params": {}}) + frame(listed))
    server.stdin.flush()
    seen = b""
    while b'"id": 7' not in seen:  # the folder's coordinator runs
        chunk = server.stdout.read1(65536)
        assert chunk, "the server ended early"
        seen += chunk
    out, err = server.communicate(frame(SHUTDOWN) + frame(EXIT), timeout=60)
    assert b'"id": 2' in out, err.decode()
    assert server.returncode == 0, err.decode()


def test_a_client_gone_in_the_middle_of_a_message_ends_the_server_cleanly() -> None:
    data = frame(INITIALIZE)
    done = subprocess.run([sys.executable, "-m", "yui_lsp"], input=data[: len(data) - 10],
                          capture_output=True, timeout=60)
    assert done.stdout == b"", "nothing is answered for half a message"
    assert b"Traceback" not in done.stderr, done.stderr.decode()


def test_a_stdin_the_loop_cannot_watch_is_read_by_a_thread(tmp_path: Path) -> None:
    messages = tmp_path / "messages"  # a regular file: epoll refuses it
    messages.write_bytes(frame(INITIALIZE) + frame(SHUTDOWN) + frame(EXIT))
    with messages.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "yui_lsp"], stdin=stdin,
                              capture_output=True, timeout=60)
    assert b'"id": 1' in done.stdout and b'"id": 2' in done.stdout, done.stderr.decode()
    assert done.returncode == 0, done.stderr.decode()
