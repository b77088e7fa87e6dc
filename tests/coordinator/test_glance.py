"""The quick reader of `yui status` / `yui locks` (coordinator/glance.py) sees what the model
readers see, on a real coordinator's files, and changes nothing it reads."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager, all_tasks, glance, live_coordinators
from yui_lsp.coordinator.history import History
from yui_lsp.errors import UntrustedStateError
from yui_lsp.protocol import Task, TaskStatus
from yui_lsp.workspace import LeaseTable


def _waiting_writer(go: Path, path: str) -> list[str]:
    code = (f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists(): "
            f"time.sleep(0.02)\npathlib.Path({path!r}).write_text('done')\n")
    return [sys.executable, "-c", code]


async def _until(check: object, timeout: float = 30) -> None:
    with anyio.fail_after(timeout):
        while not check():  # type: ignore[operator]
            await anyio.sleep(0.02)


async def test_glance_sees_what_the_model_readers_see(
        repo: Path, settings: Settings, tmp_path: Path) -> None:
    go = tmp_path / "go"
    async with ParallelTaskManager(repo, settings=settings) as manager:
        futures = [await manager.submit_task(Task(
            id=name, agent="shell", claims=[f"src/{name}.py"],
            command=_waiting_writer(go, f"src/{name}.py")))
            for name in ("a", "b")]
        await _until(lambda: {t.status for t in all_tasks(repo)} == {TaskStatus.RUNNING}
                     and len(all_tasks(repo)) == 2)

        models = await anyio.to_thread.run_sync(live_coordinators, repo)
        assert [c["coordinator_id"] for c in glance.coordinators(repo)] == \
            [m.coordinator_id for m in models]
        quick = glance.live_tasks(repo, [m.coordinator_id for m in models])
        assert sorted(quick, key=lambda r: r["task"]["id"]) == sorted(
            (t.model_dump(mode="json") for t in all_tasks(repo)), key=lambda r: r["task"]["id"])
        rows = {glance.TaskRow.of(r).id: glance.TaskRow.of(r) for r in quick}
        assert {k: (r.status, r.agent) for k, r in rows.items()} == {
            "a": (TaskStatus.RUNNING, "shell"), "b": (TaskStatus.RUNNING, "shell")}

        held = LeaseTable(repo, "test-reader", settings.lease_ttl_s).records()
        assert glance.leases(repo) == [r.model_dump(mode="json") for r in held]
        assert {r["file_path"] for r in glance.leases(repo)} == {"src/a.py", "src/b.py"}

        go.write_text("")
        for future in futures:
            assert (await future.result(timeout=60)).status == TaskStatus.COMPLETED

    history = History(repo)
    try:
        recorded = [(e.info.model_dump(mode="json"), e.log_path) for e in history.recent()]
    finally:
        history.close()
    assert glance.history(repo) == recorded
    assert {r["task"]["id"] for r, _ in recorded} == {"a", "b"}
    assert glance.coordinators(repo) == [] and glance.leases(repo) == []


def test_glance_changes_nothing_and_skips_what_it_cannot_read(repo: Path) -> None:
    state = repo / ".yui"
    (state / "coordinators").mkdir(parents=True, mode=0o700)
    (state / "locks").mkdir(mode=0o700)
    dead = {"coordinator_id": "gone", "pid": 2**22 + 12345, "host": os.uname().nodename,
            "socket": "/nonexistent", "started_at": "2026-01-01T00:00:00Z"}
    (state / "coordinators" / "gone.json").write_text(json.dumps(dead))
    (state / "coordinators" / "junk.json").write_text("{not json")
    (state / "coordinators" / "list.json").write_text("[1, 2]")
    lease = {"file_path": "src/a.py", "locked_by": "t", "lock_type": "exclusive",
             "acquired_at": "2026-01-01T00:00:00Z", "expires_at": "2999-01-01T00:00:00Z",
             "owner_pid": os.getpid(), "host": os.uname().nodename}
    expired = dict(lease, locked_by="old", expires_at="2001-01-01T00:00:00Z")
    (state / "locks" / "t.json").write_text(json.dumps([lease, {"file_path": "x"}, expired]))
    (state / "history.sqlite3").write_bytes(b"not a database")
    for path in state.rglob("*"):
        path.chmod(0o600 if path.is_file() else 0o700)
    before = {p: p.read_bytes() for p in state.rglob("*") if p.is_file()}

    assert glance.coordinators(repo) == []
    assert glance.leases(repo) == [lease]
    with pytest.raises(glance.HistoryUnreadableError, match="next run keeps it aside"):
        glance.history(repo)  # said, not shown as an empty history
    assert {p: p.read_bytes() for p in state.rglob("*") if p.is_file()} == before


def test_glance_refuses_state_another_user_could_have_written(repo: Path) -> None:
    locks = repo / ".yui" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    forged = locks / "t.json"
    forged.write_text("[]")
    forged.chmod(0o666)
    with pytest.raises(UntrustedStateError, match="writable by group and others"):
        glance.leases(repo)
