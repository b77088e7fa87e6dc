"""Fault tests with real processes: agents and coordinators killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import psutil

from tests.support import git, pid_running, wait_for
from yui_lsp import ParallelTaskManager, Task, TaskStatus
from yui_lsp.config import Settings
from yui_lsp.coordinator import all_tasks
from yui_lsp.workspace import LeaseTable

PY = sys.executable
HERE = Path(__file__).parent
SOURCE_ROOT = HERE.parents[1]




async def test_agent_killed_mid_run_fails_cleanly(repo: Path, settings: Settings) -> None:
    code = (
        "import os,signal;open('src/a.py','w').write('half written');"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(
            Task(id="crash", claims=["src/a.py"], command=[PY, "-c", code]), "shell"
        )
        result = await fut.result(timeout=30)
        assert m.locks() == []
    assert result.status == TaskStatus.FAILED
    assert "killed by SIGKILL" in (result.error or "")
    assert (repo / "src" / "a.py").read_text() == "x = 1\n"
    assert git(repo, "status", "--porcelain") == ""


def test_coordinator_killed_mid_run_is_cleaned_up_by_the_next(repo: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "agent.pid"
    sandboxes = tmp_path / "sandboxes"
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    coordinator = subprocess.Popen(
        [PY, str(HERE / "coordinator_worker.py"), str(repo), str(sandboxes), str(pidfile)], env=env
    )
    try:
        wait_for(lambda: pidfile.exists() and pidfile.read_text() != "")
        agent_pid = pid_running(str(pidfile))
        assert [r.locked_by for r in LeaseTable(repo, "probe", 60).records()] == ["doomed"]
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait(timeout=10)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
    # Confined agents die with their coordinator (bubblewrap --die-with-parent); unconfined
    # ones survive it and are reaped by the next coordinator. Either way, none keeps working.

    async def next_coordinator() -> TaskStatus:
        settings = Settings(sandbox_dir=str(sandboxes))
        async with ParallelTaskManager(repo, settings=settings) as m:
            # The dead coordinator's leases, tasks and agent are gone.
            assert all(t.coordinator_id == m.coordinator_id for t in all_tasks(repo))
            fut = await m.submit_task(
                Task(
                    id="next",
                    claims=["src/a.py"],
                    command=[PY, "-c", "open('src/a.py','a').write('y = 3\\n')"],
                ),
                "shell",
            )
            return (await fut.result(timeout=30)).status

    assert anyio.run(next_coordinator) == TaskStatus.COMPLETED
    wait_for(
        lambda: (
            not psutil.pid_exists(agent_pid)
            or psutil.Process(agent_pid).status() == psutil.STATUS_ZOMBIE
        ),
        timeout=10,
    )
    assert (
        repo / "src" / "a.py"
    ).read_text() == "x = 1\ny = 3\n"  # the dead agent's edit never landed
    assert LeaseTable(repo, "probe", 60).records() == []
    assert len(git(repo, "worktree", "list").strip().splitlines()) == 1
    assert not sandboxes.exists() or not any(sandboxes.rglob("*.py"))
    subprocess.run(["git", "fsck", "--strict"], cwd=repo, check=True, capture_output=True)


def test_two_coordinators_on_one_repo_take_turns(repo: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE_ROOT),
        "CI": "true",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def plan_for(tag: str) -> str:
        code = (
            f"import time;t=open('src/a.py').read();time.sleep(1.0);"
            f"open('src/a.py','w').write(t+'# {tag}\\n')"
        )
        return (
            f'[[task]]\nid = "edit-{tag}"\nagent = "shell"\nclaims = ["src/a.py"]\n'
            f'command = [{_toml(PY)}, "-c", {_toml(code)}]\n'
        )

    procs = []
    for tag in ("one", "two"):
        path = tmp_path / f"plan-{tag}.toml"
        path.write_text(plan_for(tag))
        procs.append(
            subprocess.Popen(
                [PY, "-m", "yui_lsp.cli.main", "run", str(path)],
                cwd=repo,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    text = (repo / "src" / "a.py").read_text()
    # Both edits landed: the leases made them take turns, so neither overwrote the other.
    assert text.startswith("x = 1\n") and "# one\n" in text and "# two\n" in text


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
