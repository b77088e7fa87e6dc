"""Seeing and steering a running `yui` from another terminal; Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from tests.support import pid_running
from yui_lsp.protocol import TaskStatus, TaskUpdate, parse_message

from .conftest import Yui, cli_env, shell_task, write_plan, yui_argv

# Says it started (in the file named by its argument, which also finds its pid), then
# sleeps: a long task to observe.
_SLEEPER = (
    "import os, pathlib, sys, time; "
    "pathlib.Path(sys.argv[1]).write_text('up'); time.sleep(60)"
)


def _long_plan(repo: Path, pid_dir: Path) -> None:
    write_plan(
        repo,
        shell_task("slow", _SLEEPER, ["out/slow/**"], args=[str(pid_dir / "slow.pid")])
        + shell_task("slow2", _SLEEPER, ["out/slow2/**"], args=[str(pid_dir / "slow2.pid")])
        + shell_task("later", "print(1)", ["out/later/**"], ["slow"]),
    )


@contextmanager
def _running(repo: Path, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        yui_argv("run", "plan.toml", "--json", *args), cwd=repo, env=cli_env(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _agent_pids(pid_dir: Path, names: tuple[str, ...]) -> list[int]:
    _wait_for(lambda: all((pid_dir / n).is_file() and (pid_dir / n).read_text() for n in names))
    return [pid_running(str(pid_dir / n)) for n in names]


def _finals(stdout: str) -> dict[str, TaskStatus]:
    return {
        m.task_id: m.status
        for m in map(parse_message, stdout.splitlines())
        if isinstance(m, TaskUpdate) and m.status.terminal
    }


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
def test_status_and_cancel_from_another_process(repo: Path, tmp_path: Path, yui: Yui) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    _long_plan(repo, pid_dir)
    with _running(repo, tmp_path) as proc:
        slow_pid, _ = _agent_pids(pid_dir, ("slow.pid", "slow2.pid"))
        # The coordinator publishes its task table at most five times a second: an agent
        # can be up before the table says it runs.
        _wait_for(lambda: yui("status", "--json").stdout.count('"status": "running"') >= 2)

        listed = yui("status", "--json")
        assert listed.code == 0, listed.stderr
        infos = {i["task"]["id"]: i for i in map(json.loads, listed.stdout.splitlines())}
        assert infos["slow"]["status"] == "running"
        assert infos["later"]["status"] == "blocked"
        table = yui("status")
        assert "slow2" in table.stdout and "running" in table.stdout
        held = [json.loads(line) for line in yui("locks", "--json").stdout.splitlines()]
        assert {(r["file_path"], r["locked_by"]) for r in held} >= {
            ("out/slow/**", "slow"), ("out/slow2/**", "slow2"),
        }
        assert "out/slow/**" in yui("locks").stdout

        cancelled = yui("cancel", "slow")
        assert cancelled.code == 0, cancelled.stderr
        assert "slow: cancelled" in cancelled.stdout
        _wait_for(lambda: _gone(slow_pid), 15)
        assert yui("cancel", "no-such-task").code == 2
        yui("cancel", "slow2")
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert _finals(out) == {
        "slow": TaskStatus.CANCELLED, "slow2": TaskStatus.CANCELLED, "later": TaskStatus.FAILED,
    }
    # The run is over: its tasks are no longer live but the history lists them.
    after = yui("status")
    assert not after.stdout.startswith("no tasks")
    assert "recent tasks" in after.stdout and "slow2" in after.stdout
    assert "cancelled" in after.stdout
    records = [json.loads(line) for line in yui("status", "--json").stdout.splitlines()]
    assert {r["task"]["id"]: (r["type"], r["live"], r["status"]) for r in records} == {
        "slow": ("task_info", False, "cancelled"), "slow2": ("task_info", False, "cancelled"),
        "later": ("task_info", False, "failed"),
    }
    assert "never started" in yui("logs", "later").stdout


@pytest.mark.slow
def test_ctrl_c_cancels_running_tasks_and_exits_130(repo: Path, tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    _long_plan(repo, pid_dir)
    with _running(repo, tmp_path) as proc:
        pids = _agent_pids(pid_dir, ("slow.pid", "slow2.pid"))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert all(_gone(pid) for pid in pids)
    assert set(_finals(out).values()) <= {TaskStatus.CANCELLED, TaskStatus.FAILED}
