"""Fault tests with real processes: kill -9 during apply, and a disk that refuses writes."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from tests.support import why_no_private_tmpfs
from tests.workspace.apply_worker import new_files, old_files
from tests.workspace.conftest import make_repo, run_git
from tests.workspace.test_apply import leftovers, snapshot
from yui_lsp.errors import StateFileError
from yui_lsp.workspace import recover, state_dir, statedir

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("apply_worker.py")
ITERATIONS = 40


def _reset(root: Path) -> dict[str, bytes]:
    """Put the workspace back to its pre-task content; returns that content."""
    for rel, content in old_files().items():
        path = root / rel
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return snapshot(root)


def _post(before: dict[str, bytes]) -> dict[str, bytes]:
    after = dict(before)
    for rel, content in new_files().items():
        if content is None:
            after.pop(rel, None)
        else:
            after[rel] = content
    return after


def _start(root: Path, task_id: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(root), task_id, *extra], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"README.md": "# fault test\n"})
    state_dir(root)
    _reset(root)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "pre-task content")
    return root


@pytest.mark.slow
def test_kill_9_during_apply_then_recover_is_all_old_or_all_new(workspace: Path) -> None:
    rng = random.Random(1234)
    # Calibrate: how long one apply takes on this machine, measured in a worker like the others.
    calibrate = _start(workspace, "calibrate")
    _go(calibrate)
    assert calibrate.stdout is not None
    duration = float(calibrate.stdout.readline().split()[1])
    calibrate.wait(30)
    outcomes = {"old": 0, "new": 0, "rolled_forward": 0}
    for i in range(ITERATIONS):
        before = _reset(workspace)
        after = _post(before)
        proc = _start(workspace, f"task-{i}")
        _go(proc)
        time.sleep(rng.uniform(0, duration * 1.1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        journal = workspace / ".yui" / "journal" / f"task-{i}"
        if (journal / "manifest.json").exists() and not (journal / "committed").exists():
            outcomes["rolled_forward"] += 1
        recover(workspace)
        now = snapshot(workspace)
        assert now in (before, after), f"iteration {i}: files torn after recovery"
        outcomes["old" if now == before else "new"] += 1
        assert leftovers(workspace) == [], f"iteration {i}: leftovers"
    # The kills landed before, during and after the file writes, not only on one side.
    assert outcomes["old"] > 0 and outcomes["new"] > 0 and outcomes["rolled_forward"] > 0, outcomes
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=workspace, capture_output=True)
    assert fsck.returncode == 0, fsck.stderr
    assert ".yui" not in run_git(workspace, "status", "--porcelain")


def test_write_refused_by_the_kernel_is_an_apply_error_and_nothing_torn(workspace: Path) -> None:
    before = snapshot(workspace)
    # Old contents are 1200-1400 bytes, new ones 1800-2100: the kernel refuses the latter.
    proc = _start(workspace, "too-big", "--fsize-limit", "1500")
    _go(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.wait(30)
    assert line.startswith("error") and "nothing was applied" in line, line
    assert snapshot(workspace) == before
    assert leftovers(workspace) == [] and recover(workspace) == []


@pytest.mark.skipif(why_no_private_tmpfs() is not None, reason=str(why_no_private_tmpfs()))
@pytest.mark.parametrize(
    ("tmpfs_kb", "new_kb", "where"),
    [(64, 200, "the journal does not fit"), (160, 100, "the journal fits, the new file not")],
)
def test_a_really_full_disk_fails_the_apply_and_tears_nothing(
    tmp_path: Path, tmpfs_kb: int, new_kb: int, where: str
) -> None:
    worker = Path(__file__).with_name("full_disk_worker.py")
    done = subprocess.run(
        ["unshare", "--mount", sys.executable, str(worker), str(tmp_path / "ws"),
         str(tmpfs_kb), str(new_kb)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["error"], f"{where}: the apply should have failed"
    assert "No space left on device" in outcome["error"]
    assert outcome["a_intact"] and outcome["b_intact"], outcome
    assert [p for p in outcome["leftovers"] if "journal" in p or ".tmp" in p] == [], outcome


def test_a_state_file_the_disk_has_no_room_for_is_a_plain_error_and_leaves_no_temp(
        tmp_path: Path) -> None:
    target = state_dir(tmp_path) / "tasks" / "c.json"
    statedir.write_atomic(target, b"old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with mock.patch("os.fsync", full), pytest.raises(StateFileError) as raised:
        statedir.write_durably(target, b"new")
    assert isinstance(raised.value, OSError) and raised.value.errno == errno.ENOSPC
    assert str(raised.value).startswith(
        "cannot write yui's state file .yui/tasks/c.json: No space left on device")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["c.json"]
