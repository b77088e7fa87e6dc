"""Another account on the same machine: it cannot read .yui/, reach a coordinator's control
socket or the language server (TCP without the token, or the Unix socket), and what it
plants in a shared workspace's .yui/ is refused.

The tests create a real second user (useradd, removed afterwards) and run its probes with
runuser under the system Python (stdlib only). They need root; elsewhere they are skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, yui_argv
from tests.security.conftest_input import (
    Yui,
    git,
    make_repo,
    run_yui,
    shell_task,
    write_plan,
)
from tests.support import wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("useradd", "userdel", "runuser")),
    reason="needs root and useradd/userdel/runuser to create a second local user",
)

_PROBE_PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"


@pytest.fixture(scope="module")
def other_user() -> Iterator[str]:
    name = f"yuiprobe{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def as_user(user: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as ``user`` (cwd /); its stdout is the probe's verdict."""
    return subprocess.run(["runuser", "-u", user, "--", _PROBE_PYTHON, "-c", code, *args],
                          capture_output=True, text=True, timeout=60, cwd="/")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder every account can reach (pytest's own tmp folders are owner-only)."""
    folder = Path(tempfile.mkdtemp(prefix="yui-shared-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_READ = """
import sys
try:
    open(sys.argv[1], 'rb').read()
    print('read')
except PermissionError:
    print('denied')
"""
_LIST = """
import os, sys
try:
    os.listdir(sys.argv[1])
    print('listed')
except PermissionError:
    print('denied')
"""
_CONNECT_UNIX = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print('connected')
except PermissionError:
    print('denied')
"""
# Speaks LSP to 127.0.0.1:PORT: sends the messages given as JSON, prints the first answer.
_LSP_PROBE = """
import json, socket, sys
conn = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
for message in json.loads(sys.argv[2]):
    body = json.dumps(message).encode()
    conn.sendall(b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)
data = b''
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
    if b'\\r\\n\\r\\n' in data:
        head, body = data.split(b'\\r\\n\\r\\n', 1)
        size = int(head.split(b'Content-Length: ')[1].split(b'\\r\\n')[0])
        if len(body) >= size:
            print(body[:size].decode())
            break
print('closed' if not data else '')
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _initialize(token: str | None) -> dict[str, object]:
    options = {"yuiToken": token} if token is not None else {}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"capabilities": {}, "processId": None, "initializationOptions": options}}


def _submit(marker: Path) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
            "params": {"command": "yui.submitTask", "arguments": [{
                "title": "x", "prompt": "", "agent": "shell",
                "command": ["sh", "-c", f"id > {marker}"]}]}}


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str], Path]]:
    port = _free_port()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "run").mkdir(mode=0o700)
    server = subprocess.Popen([sys.executable, "-m", "yui_lsp", "--tcp", str(port)], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _listening(port), timeout=30)
        yield port, server, tmp_path / "run"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_tcp_server_refuses_another_user_without_the_token(
    other_user: str, tcp_server: tuple[int, subprocess.Popen[str], Path], shared: Path
) -> None:
    port, server, run_dir = tcp_server
    marker = shared / "escaped"
    shared.chmod(0o777)  # were the command to run, it could write its marker here
    for messages in ([_submit(marker)],  # no initialize at all
                     [_initialize(None), _submit(marker)],  # no token
                     [_initialize("guessed-" + "x" * 30), _submit(marker)]):  # a wrong one
        probe = as_user(other_user, _LSP_PROBE, str(port), json.dumps(messages))
        answer = json.loads(probe.stdout.splitlines()[0])
        assert "error" in answer and "only serves its owner" in answer["error"]["message"]
    assert not marker.exists()
    # The token file is the owner's alone.
    (token_file,) = (run_dir / "yui-lsp").iterdir()
    assert as_user(other_user, _READ, str(token_file)).stdout.strip() == "denied"
    assert oct(token_file.stat().st_mode & 0o777) == oct(0o600)
    # The owner, with the token, is served (and the refused clients did not end the server).
    token = token_file.read_text().strip()
    assert server.poll() is None
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        body = json.dumps(_initialize(token)).encode()
        conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data = b""
        while b'"result"' not in data:
            chunk = conn.recv(65536)
            assert chunk, data
            data += chunk
    assert b"yui.submitTask" in data


def test_unix_socket_server_is_owner_only(other_user: str, shared: Path) -> None:
    path = shared / "lsp.sock"
    server = subprocess.Popen([sys.executable, "-m", "yui_lsp", "--socket", str(path)])
    try:
        wait_for(path.exists, timeout=30)
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
        assert as_user(other_user, _CONNECT_UNIX, str(path)).stdout.strip() == "denied"
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(path))  # the owner gets in
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_another_user_cannot_read_yui_state_or_reach_the_control_socket(
    other_user: str, shared: Path
) -> None:
    repo = make_repo(shared)
    for folder in (repo, *(p for p in repo.rglob("*") if p.is_dir() and ".git" not in p.parts)):
        folder.chmod(0o755)
    yui: Yui = run_yui(shared, repo)
    release = shared / "release"
    code = ("import pathlib, time\n"
            f"while not pathlib.Path({str(release)!r}).exists(): time.sleep(0.05)\n"
            "pathlib.Path('src/a.py').write_text('A = 2\\n')")
    write_plan(repo, shell_task("slow", code, ["src/a.py"], args=["--password", "hunter2"]))
    running = subprocess.Popen(yui_argv("run", "plan.toml"), cwd=repo, env=cli_env(shared),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any((repo / ".yui" / "tasks").glob("*.json")), timeout=60)
        state = repo / ".yui"
        # The control socket lives in the user's runtime folder; its entry names it.
        sockets = [Path(json.loads(entry.read_text())["socket"])
                   for entry in (state / "coordinators").glob("*.json")]
        assert sockets and all(sock.exists() for sock in sockets)
        assert as_user(other_user, _LIST, str(state)).stdout.strip() == "denied"
        for path in [*state.rglob("*.json"), state / "audit.jsonl", *sockets]:
            verdict = as_user(other_user, _CONNECT_UNIX if path.suffix == ".sock" else _READ,
                              str(path)).stdout.strip()
            assert verdict == "denied", path
    finally:
        release.touch()
        out, err = running.communicate(timeout=60)
    assert running.returncode == 0, out + err
    assert yui("status").code == 0


def test_a_yui_folder_another_user_planted_in_a_shared_workspace_is_refused(
    other_user: str, shared: Path
) -> None:
    repo = make_repo(shared)
    repo.chmod(0o777)  # a shared checkout everyone may write in
    plant = ("import os, sys; root = sys.argv[1]; os.mkdir(root + '/.yui', 0o755); "
             "open(root + '/.yui/config.toml', 'w').write('confine = \"off\"\\n')")
    assert as_user(other_user, plant, str(repo)).returncode == 0
    yui: Yui = run_yui(shared, repo)
    write_plan(repo, shell_task("t", "open('src/a.py', 'w').write('A = 3\\n')", ["src/a.py"]))
    done = yui("run", "plan.toml")
    assert done.code != 0
    assert f"belongs to user {other_user!r}" in done.stderr
    assert "Traceback" not in done.stderr
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"
    assert git(repo, "diff", "--stat") == ""
