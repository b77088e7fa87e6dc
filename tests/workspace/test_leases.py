"""The lease table: all-or-nothing claims shared by every process on a repository."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from yui_lsp.errors import PlanError
from yui_lsp.protocol import LockRecord, LockType
from yui_lsp.workspace import LeaseTable

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("lease_worker.py")


def worker(root: Path, task_id: str, claim: str, hold_s: float, log: Path, *extra: str
           ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(root), task_id, claim, str(hold_s), str(log), *extra],
        env=env,
    )


def wait_for_line(log: Path, prefix: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                if line.startswith(prefix):
                    return line
        time.sleep(0.02)
    raise AssertionError(f"no line starting with {prefix!r} in {log}")


def test_exclusive_claims_are_all_or_nothing(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=60)
    assert table.try_acquire("api", ["src/api/**"], agent="kiro", title="API") is not None
    # Overlaps on one claim only: the other claim must not be leased either.
    assert table.try_acquire("tests", ["tests/**", "src/api/users.py"]) is None
    assert [r.locked_by for r in table.records()] == ["api"]
    assert table.try_acquire("tests", ["tests/**"]) is not None
    assert {r.file_path for r in table.records()} == {"src/api/**", "tests/**"}
    holder = table.holder("src/api/users.py")
    assert holder is not None and holder.locked_by == "api" and holder.task_title == "API"
    assert table.holder("src/api/users.py", exclude_task="api") is None
    assert table.holder("docs/x.md") is None


def test_shared_leases_coexist_but_exclude_exclusive(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=60)
    assert table.try_acquire("read1", ["src/**"], LockType.SHARED) is not None
    assert table.try_acquire("read2", ["src/**"], LockType.SHARED) is not None
    assert table.try_acquire("write", ["src/a.py"], LockType.EXCLUSIVE) is None
    table.release("read1")
    table.release("read2")
    assert table.try_acquire("write", ["src/a.py"], LockType.EXCLUSIVE) is not None


def test_table_is_shared_between_instances_and_versioned(tmp_path: Path) -> None:
    first, second = LeaseTable(tmp_path, "c1", 60), LeaseTable(tmp_path, "c2", 60)
    before = first.table_version()
    time.sleep(0.01)
    assert first.try_acquire("a", ["src/**"]) is not None
    assert second.table_version() != before
    assert second.try_acquire("b", ["src/x.py"]) is None
    second.release_all_of_coordinator()  # holds nothing: must not drop c1's lease
    assert [r.locked_by for r in second.records()] == ["a"]
    first.release_all_of_coordinator()
    assert second.records() == []


def test_expired_leases_are_reclaimed_and_renew_extends(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=0.3)
    assert table.try_acquire("short", ["a/**"]) is not None
    assert table.try_acquire("kept", ["b/**"]) is not None
    first_expiry = table.records()[1].expires_at
    for _ in range(4):
        time.sleep(0.1)
        table.renew(["kept"])
    records = table.records()
    assert [r.locked_by for r in records] == ["kept"]
    assert records[0].expires_at > first_expiry
    assert table.try_acquire("other", ["a/x"]) is not None


def test_a_lease_file_read_before_is_checked_again_when_its_first_lease_expires(
        tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=60)
    assert table.try_acquire("big", [f"f{i}" for i in range(3)]) is not None
    assert len(table.records()) == 3  # parsed now, and cached
    path = tmp_path / ".yui" / "locks" / "big.json"
    records = json.loads(path.read_text())
    records[1]["expires_at"] = "2000-01-01T00:00:00Z"
    path.write_text(json.dumps(records))
    assert [r.file_path for r in table.records()] == ["f0", "f2"], \
        "the expired lease goes, the others of the same task stay"
    assert [r["file_path"] for r in json.loads(path.read_text())] == ["f0", "f2"]


def test_bad_claim_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError):
        LeaseTable(tmp_path, "c1", 60).try_acquire("t", ["src/**.py"])


async def test_acquire_waits_reports_blocker_once_and_is_cancellable(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=60)
    assert table.try_acquire("first", ["src/**"], title="First") is not None
    seen: list[LockRecord] = []
    with anyio.move_on_after(0.6) as scope:
        await table.acquire("second", ["src/a.py"], on_wait=seen.append)
    assert scope.cancelled_caught
    assert [r.locked_by for r in seen] == ["first"]
    assert [r.locked_by for r in table.records()] == ["first"]

    async def free_later() -> None:
        await anyio.sleep(0.2)
        table.release("first")

    async with anyio.create_task_group() as tg:
        tg.start_soon(free_later)
        got = await table.acquire("second", ["src/a.py"])
    assert [r.locked_by for r in got] == ["second"]


async def test_heartbeat_keeps_leases_alive(tmp_path: Path) -> None:
    table = LeaseTable(tmp_path, "c1", ttl_s=0.4)
    table.try_acquire("t", ["src/**"])
    with anyio.move_on_after(1.0):
        await table.heartbeat(lambda: ["t"], 0.1)
    assert [r.locked_by for r in table.records()] == ["t"]


def test_two_processes_never_hold_overlapping_leases(tmp_path: Path) -> None:
    log, go = tmp_path / "log", tmp_path / "go"
    # One holds its lease until the second has said it waits: no timing involved.
    one = worker(tmp_path, "one", "src/**", 0, log, "--until", str(go))
    wait_for_line(log, "start one")
    two = worker(tmp_path, "two", "src/app.py", 0.1, log)
    wait_for_line(log, "wait two one", timeout=60)
    go.touch()
    assert one.wait(20) == 0 and two.wait(20) == 0
    lines = log.read_text().splitlines()
    assert "wait two one" in lines  # the second one said who it waited for
    times = {(ln.split()[0], ln.split()[1]): float(ln.split()[2]) for ln in lines
             if not ln.startswith("wait")}
    assert times[("start", "two")] >= times[("end", "one")]


def test_dead_owners_lease_is_reclaimed(tmp_path: Path) -> None:
    log = tmp_path / "log"
    hung = worker(tmp_path, "hung", "src/**", 0, log, "--hang")
    wait_for_line(log, "start hung")
    table = LeaseTable(tmp_path, "me", ttl_s=60)
    assert table.try_acquire("mine", ["src/a.py"]) is None
    os.kill(hung.pid, signal.SIGKILL)
    hung.wait(10)
    assert table.try_acquire("mine", ["src/a.py"]) is not None
    assert [r.locked_by for r in table.records()] == ["mine"]
    assert not (tmp_path / ".yui" / "locks" / "hung.json").exists()


def test_lease_from_another_host_survives_until_expiry(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    table = LeaseTable(tmp_path, "me", ttl_s=60)
    for task, host in (("remote", "other-host"), ("local", socket.gethostname())):
        table.try_acquire(task, [f"{task}/**"])
        path = tmp_path / ".yui" / "locks" / f"{task}.json"
        records = json.loads(path.read_text())
        for record in records:
            record.update(owner_pid=dead.pid, host=host)
        path.write_text(json.dumps(records))
    # A dead pid means nothing on another machine: only expiry can free that lease.
    assert [r.locked_by for r in table.records()] == ["remote"]
