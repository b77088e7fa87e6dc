"""Agents confined by bubblewrap: the user's workspace is read-only to them, for real.

Every test runs real agent processes through a real coordinator on a real git repository.
Those that need bwrap skip (saying how to install it) where it is missing or cannot work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.cli.conftest import cli_env, yui_argv
from tests.coordinator import conftest as coordinator_setup
from tests.support import git, needs_bwrap, wait_for
from yui_lsp import ParallelTaskManager, Task, TaskStatus
from yui_lsp.agents.confine import (
    BWRAP_ENV,
    ConfineRequest,
    bwrap_argv,
)
from yui_lsp.config import Settings
from yui_lsp.protocol import TaskResult

PY = sys.executable
# A small committed git repository (src/a.py, src/b.py, README.md), as the coordinator tests use.
repo = coordinator_setup.repo


# An agent that reports what it could do: write two workspace files by absolute path, see
# its parent process; then (argv[2] == "edit") edit its sandbox and stage the edit with git.
REPORTING_AGENT = """
import errno, json, os, subprocess, sys
repo = sys.argv[1]
outcome = {}
for name, text in (("src/a.py", "pwned\\n"), ("evil.txt", "evil\\n")):
    try:
        with open(os.path.join(repo, name), "w") as fh:
            fh.write(text)
        outcome[name] = "written"
    except OSError as exc:
        outcome[name] = errno.errorcode[exc.errno]
with open(f"/proc/{os.getppid()}/comm") as fh:
    outcome["parent"] = fh.read().strip()
if sys.argv[2] == "edit":
    with open("src/b.py", "w") as fh:
        fh.write("y = 3\\n")
    # Staging writes the sandbox's own index and objects (never the workspace's .git).
    added = subprocess.run(["git", "add", "src/b.py"], capture_output=True, text=True)
    outcome["git add"] = added.returncode, added.stderr.strip()
    outcome["git"] = subprocess.run(["git", "status", "--porcelain"], capture_output=True,
                                    text=True).stdout.split()
print(json.dumps(outcome))
"""


def user_files(root: Path) -> dict[str, bytes]:
    """Every file of the user's tree (not git's or yui's own state), with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".yui"} & set(p.relative_to(root).parts)
    }


def settings_for(tmp_path: Path, confine: str) -> Settings:
    return Settings.model_validate(
        {"sandbox_dir": str(tmp_path / "sandboxes"), "confine": confine, "retry_backoff_s": 0.01}
    )


async def run_tasks(repo: Path, settings: Settings, *tasks: Task) -> dict[str, TaskResult]:
    async with ParallelTaskManager(repo, settings=settings) as manager:
        futures = [await manager.submit_task(task, "shell") for task in tasks]
        results = [await f.result(timeout=60) for f in futures]
    return {r.task_id: r for r in results}


def agent_report(repo: Path, task_id: str) -> dict[str, object]:
    """The JSON line REPORTING_AGENT printed, from the task's log."""
    log = (repo / ".yui" / "logs" / f"{task_id}.log").read_text()
    line = next(ln for ln in log.splitlines() if ln.startswith("[stdout] {"))
    report: dict[str, object] = json.loads(line.removeprefix("[stdout] "))
    return report


@needs_bwrap
async def test_writes_to_the_workspace_fail_inside_the_agent_and_the_task_fails(
    repo: Path, tmp_path: Path
) -> None:
    before = user_files(repo)
    head = git(repo, "rev-parse", "HEAD")
    overwrite = f"open({str(repo / 'src' / 'a.py')!r}, 'w').write('pwned')"
    create = f"open({str(repo / 'evil.txt')!r}, 'w').write('evil')"
    results = await run_tasks(
        repo, settings_for(tmp_path, "auto"),
        Task(id="overwrite", claims=["src/a.py"], command=[PY, "-c", overwrite]),
        Task(id="create", claims=["evil.txt"], command=[PY, "-c", create]),
    )
    for result in results.values():
        assert result.status == TaskStatus.FAILED
        assert "failed (exit 1)" in (result.error or "")
        assert "Read-only file system" in (result.error or "")
    assert user_files(repo) == before
    assert not (repo / "evil.txt").exists()
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


@needs_bwrap
async def test_sandbox_edit_still_integrates_and_git_works_inside(
    repo: Path, tmp_path: Path
) -> None:
    task = Task(
        id="honest", claims=["src/b.py"], command=[PY, "-c", REPORTING_AGENT, str(repo), "edit"]
    )
    results = await run_tasks(repo, settings_for(tmp_path, "auto"), task)
    assert results["honest"].status == TaskStatus.COMPLETED, results["honest"].error
    report = agent_report(repo, "honest")
    assert report["src/a.py"] == report["evil.txt"] == "EROFS"
    assert report["parent"] == "bwrap"
    # git works in the sandbox (its own .git borrows the workspace's objects read-only).
    assert report["git add"] == [0, ""]
    assert report["git"] == ["M", "src/b.py"]
    assert (repo / "src" / "b.py").read_text() == "y = 3\n"
    assert (repo / "src" / "a.py").read_text() == "x = 1\n"
    assert not (repo / "evil.txt").exists()
    assert results["honest"].files_modified == ["src/b.py"]


async def test_confine_off_runs_the_agent_unconfined(repo: Path, tmp_path: Path) -> None:
    task = Task(
        id="free", claims=["src/a.py"], command=[PY, "-c", REPORTING_AGENT, str(repo), "report"]
    )
    results = await run_tasks(repo, settings_for(tmp_path, "off"), task)
    assert results["free"].status == TaskStatus.COMPLETED, results["free"].error
    report = agent_report(repo, "free")
    # The old behaviour, and the reason confinement exists: nothing stops the write.
    assert report["src/a.py"] == report["evil.txt"] == "written"
    assert report["parent"] != "bwrap"
    assert (repo / "evil.txt").read_text() == "evil\n"


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This process sees no bwrap (as on a machine without bubblewrap)."""
    monkeypatch.setenv(BWRAP_ENV, str(tmp_path / "no-such-bwrap"))


@pytest.mark.usefixtures("no_bwrap")
async def test_required_without_bwrap_refuses_to_run_the_agent(
    repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "agent-ran"
    task = Task(
        id="strict", claims=["src/a.py"],
        command=[PY, "-c", f"open({str(marker)!r}, 'w').write('ran')"],
    )
    results = await run_tasks(repo, settings_for(tmp_path, "required"), task)
    assert results["strict"].status == TaskStatus.FAILED
    error = results["strict"].error or ""
    assert 'confinement is required (confine = "required")' in error
    assert "apt-get install bubblewrap" in error
    assert not marker.exists()


@pytest.mark.usefixtures("no_bwrap")
async def test_auto_without_bwrap_runs_unconfined_and_says_so(
    repo: Path, tmp_path: Path
) -> None:
    task = Task(id="lax", claims=["src/b.py"], command=[PY, "-c", "print('ok')"])
    results = await run_tasks(repo, settings_for(tmp_path, "auto"), task)
    assert results["lax"].status == TaskStatus.COMPLETED, results["lax"].error
    log = (repo / ".yui" / "logs" / "lax.log").read_text()
    assert "[yui] running unconfined: bwrap (bubblewrap) not found" in log


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def coordinator(repo: Path, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Starts `yui run PLAN` (text of the plan) in the repo; kills what is left at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(plan: str) -> subprocess.Popen[str]:
        path = tmp_path / "plan.toml"
        path.write_text(plan)
        proc = subprocess.Popen(
            yui_argv("run", str(path)), cwd=repo, env=cli_env(tmp_path), text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


@needs_bwrap
def test_agent_dies_with_a_sigkilled_coordinator(
    repo: Path, tmp_path: Path, coordinator: Callable[[str], subprocess.Popen[str]]
) -> None:
    pidfile = tmp_path / "agent.pid"
    marker = f"doomed-agent-{tmp_path.name}"
    code = f"import time;open({str(pidfile)!r},'w').write('up');time.sleep(120)"
    proc = coordinator(
        '[[task]]\nid = "doomed"\nagent = "shell"\nclaims = ["src/a.py"]\n'
        f"command = [{json.dumps(PY)}, \"-c\", {json.dumps(code)}, {json.dumps(marker)}]\n"
    )
    wait_for(lambda: pidfile.exists() and pidfile.read_text() != "")
    # It runs in a PID namespace: found by its command line, as the machine sees it.
    agent = next(p.pid for p in psutil.process_iter(["cmdline"])
                 if (p.info["cmdline"] or [""])[0] == PY and marker in p.info["cmdline"])
    assert not gone(agent)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        wait_for(lambda: gone(agent), timeout=10)
    finally:
        if not gone(agent):
            os.kill(agent, signal.SIGKILL)


def test_bwrap_command_protects_workspace_git_and_pool_and_keeps_sandbox_writable(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    pool = tmp_path / "cache" / "pool"
    sandbox = pool / "s1"
    sandbox.mkdir(parents=True)
    request = ConfineRequest(mode="auto", workspace=workspace, sandbox=sandbox, protected=(pool,))
    argv = bwrap_argv("bwrap", request, ["agent", "--flag", "a prompt; rm -rf /"])
    ws, pl, sb = (str(p.resolve()) for p in (workspace, pool, sandbox))
    assert argv[-4:] == ["--", "agent", "--flag", "a prompt; rm -rf /"]
    assert "--die-with-parent" in argv and "--unshare-pid" in argv
    # Read-only first, then the writable holes (later mounts win).
    ro = [argv[i + 1] for i, flag in enumerate(argv) if flag == "--ro-bind"]
    assert set(ro) == {ws, pl}
    binds = [argv[i + 1] for i, flag in enumerate(argv) if flag == "--bind"]
    # The user's .git is never a writable hole: the sandbox has its own git directory.
    assert binds == [sb] and argv.index("--bind") > max(
        i for i, flag in enumerate(argv) if flag == "--ro-bind")
    assert argv[argv.index("--chdir") + 1] == sb


@needs_bwrap
async def test_acp_agent_cannot_bypass_the_client_to_write_the_workspace(
    repo: Path, tmp_path: Path
) -> None:
    before = user_files(repo)
    target = repo / "src" / "a.py"
    settings = settings_for(tmp_path, "auto").merged({"agents": {"rogue": {
        "kind": "acp",
        "command": [PY, str(Path(__file__).parents[1] / "fixtures" / "acp_agent.py")],
        "env": {"FAKE_ACP_MODE": "rogue_write"},
    }}})
    async with ParallelTaskManager(repo, settings=settings) as manager:
        future = await manager.submit_task(
            Task(id="rogue", agent="rogue", prompt=f"write {target}: overwritten by the agent")
        )
        result = await future.result(timeout=60)
    # The ACP agent's own file write (not through fs/write_text_file) hits a read-only mount.
    assert user_files(repo) == before
    log = (repo / ".yui" / "logs" / "rogue.log").read_text()
    assert "Read-only file system" in log, log
    assert result.status == TaskStatus.FAILED, result
