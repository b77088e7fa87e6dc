"""Starting the server: stdio is covered by every other test; here TCP and --help."""

from __future__ import annotations

import json
import pstats
import socket
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_message(conn: socket.socket) -> dict[str, object]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    header, body = data.split(b"\r\n\r\n", 1)
    length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(65536)
    return dict(json.loads(body[:length]))


def test_tcp_server_answers_initialize(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "server.log"
    token = tmp_path / "token"
    token.write_text("a-token-for-this-test-only\n")
    token.chmod(0o600)
    server = subprocess.Popen([sys.executable, "-m", "yui_lsp", "--tcp", str(port),
                               "--token-file", str(token), "--log-file", str(log)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.1)
        with conn:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"capabilities": {}, "processId": None,
                                          "initializationOptions": {
                                              "yuiToken": "a-token-for-this-test-only"}}}
                              ).encode()
            conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            answer = _read_message(conn)
        assert answer["id"] == 1
        commands = answer["result"]["capabilities"]["executeCommandProvider"]["commands"]  # type: ignore[index]
        assert "yui.submitTask" in commands and "yui.listLocks" in commands
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert log.exists()


def test_help_names_the_transports() -> None:
    done = subprocess.run([sys.executable, "-m", "yui_lsp", "--help"], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0
    assert "--tcp" in done.stdout and "--log-file" in done.stdout


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_profile_option_writes_statistics_of_the_event_loop(tmp_path: Path) -> None:
    stats = tmp_path / "server.prof"
    messages: list[dict[str, object]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"capabilities": {}, "processId": None}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    session = b"".join(_frame(m) for m in messages)
    done = subprocess.run([sys.executable, "-m", "yui_lsp", "--profile", str(stats)],
                          input=session, capture_output=True, timeout=60)
    assert b'"id": 2' in done.stdout, done.stderr.decode()
    functions = {name for _, _, name in pstats.Stats(str(stats)).stats}  # type: ignore[attr-defined]
    assert "initialize" in functions, "the server's own handlers are in the profile"
