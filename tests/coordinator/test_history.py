"""Task ids are unique per repository: across runs and across coordinators running at once,
and the history keeps every task after its coordinator is gone."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import sys
from pathlib import Path

import anyio
import pytest

from tests.coordinator.history_worker import ROUNDS_OF_IDS, take_ids
from tests.support import git
from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager, glance
from yui_lsp.coordinator.glance import HistoryUnavailableError
from yui_lsp.coordinator.history import History, HistoryEntry
from yui_lsp.coordinator.services import HistoryWriter
from yui_lsp.protocol import Plan, RefactorSpec, Task, TaskInfo, TaskStatus
from yui_lsp.workspace import DiskReader, undo


def writer(path: str, text: str) -> list[str]:
    code = f"import pathlib; p = pathlib.Path({path!r}); p.parent.mkdir(exist_ok=True); " \
        f"p.write_text({text!r})"
    return [sys.executable, "-c", code]


async def test_two_coordinators_running_the_same_task_id_at_once_both_land(
        repo: Path, settings: Settings, tmp_path: Path) -> None:
    go = tmp_path / "go"
    ids: dict[str, str] = {}
    submitted = {"one": anyio.Event(), "two": anyio.Event()}

    async def run(name: str) -> None:
        # Each agent waits for `go`, given once both coordinators hold a task called `same`.
        wait = f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists(): " \
            "time.sleep(0.02)\n"
        command = [sys.executable, "-c", wait + writer(f"out/{name}.txt", name)[2]]
        async with ParallelTaskManager(repo, settings=settings) as manager:
            (future,) = await manager.submit_plan(Plan(task=[
                Task(id="same", claims=[f"out/{name}.txt"], command=command)]))
            ids[name] = future.task_id
            submitted[name].set()
            result = await future.result(timeout=60)
            assert result.status == TaskStatus.COMPLETED, result.error

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "one")
        tg.start_soon(run, "two")
        for event in submitted.values():
            await event.wait()
        go.write_text("")

async def test_a_later_run_never_reuses_an_id_and_the_first_can_still_be_undone(
        repo: Path, settings: Settings) -> None:
    async def refactor(pattern: str, path: str) -> str:
        async with ParallelTaskManager(repo, settings=settings) as manager:
            future = await manager.submit_task(Task(
                id="refactor-1", claims=[path],
                refactor=RefactorSpec(pattern=pattern, replacement="changed", files=[path])),
                "refactor")
            assert (await future.result(timeout=60)).status == TaskStatus.COMPLETED
            return future.task_id

    first = await refactor("x", "src/a.py")
    second = await refactor("y", "src/b.py")
    assert (first, second) == ("refactor-1", "refactor-1-r2")

    history = History(repo)
    entry = history.get(second)
    history.close()
    assert entry is not None and entry.info.task.title == "refactor-1", "the plan's id stays"
    assert entry.info.status == TaskStatus.COMPLETED
    assert entry.info.files_modified == ["src/b.py"]

    report = undo(repo, first, DiskReader(repo))
    assert report.reverted == ["src/a.py"] and not report.skipped
    assert (repo / "src" / "a.py").read_text() == "x = 1\n"
    assert (repo / "src" / "b.py").read_text() == "changed = 2\n", "the second run stays"
    assert git(repo, "status", "--porcelain", "src/a.py") == ""


async def test_dependencies_follow_a_renamed_id(repo: Path, settings: Settings) -> None:
    plan = Plan(task=[Task(id="gen", claims=["out/g.txt"], command=writer("out/g.txt", "g")),
                      Task(id="use", depends_on=["gen"], claims=["out/u.txt"],
                           command=writer("out/u.txt", "u"))])
    for _ in range(2):
        async with ParallelTaskManager(repo, settings=settings) as manager:
            futures = await manager.submit_plan(plan)
            await manager.wait_for_completion(timeout=60)
    assert [f.task_id for f in futures] == ["gen-r2", "use-r2"]
    assert all(f.status == TaskStatus.COMPLETED for f in futures)
    history = History(repo)
    use = history.get("use-r2")
    history.close()
    assert use is not None and use.info.task.depends_on == ["gen-r2"]


def test_coordinators_opening_a_new_history_at_once_all_get_distinct_ids(tmp_path: Path) -> None:
    """Several processes open a repository's history at the same moment (the first open
    creates it) and reserve ids: none gets "database is locked", no id is handed out twice."""
    processes, repositories = 4, 100
    roots = []
    for n in range(repositories):
        (tmp_path / f"repo-{n}" / ".yui").mkdir(parents=True)
        roots.append(str(tmp_path / f"repo-{n}"))
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    results: multiprocessing.queues.Queue[tuple[str, list[str] | str]] = spawn.Queue()
    workers = [spawn.Process(target=take_ids, args=(f"c{n}", roots, barrier, results))
               for n in range(processes)]
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=120) for _ in range(processes * repositories)]
    finally:
        for worker in workers:
            worker.join(timeout=60)
    errors = [report for _, report in reports if isinstance(report, str)]
    assert not errors, errors
    for root in roots:
        granted = [i for where, ids in reports if where == root for i in ids]
        assert len(granted) == len(set(granted)) == processes * ROUNDS_OF_IDS * 2, granted
        history = History(Path(root))
        try:
            recorded = {entry.info.task.id for entry in history.recent()}
        finally:
            history.close()
        assert recorded == set(granted)


def test_a_history_damaged_past_its_header_is_kept_aside(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.reserve("c", [f"task-{n}" for n in range(2000)])
    history.close()
    path = tmp_path / ".yui" / "history.sqlite3"
    for leftover in ("-wal", "-shm"):
        Path(f"{path}{leftover}").unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    assert len(data) > 16 * 4096
    data[8 * 4096:12 * 4096] = b"\xff" * (4 * 4096)  # pages in the middle, header intact
    path.write_bytes(bytes(data))

    history = History(tmp_path)
    try:
        assert history.reserve("c", ["task-1", "fresh"]) == {"task-1": "task-1",
                                                            "fresh": "fresh"}
    finally:
        history.close()
    (kept,) = (tmp_path / ".yui").glob("history.sqlite3.damaged-*")
    assert kept.read_bytes() == bytes(data), "the damaged file is kept as it was"


def test_a_full_history_disk_is_said_plainly_and_the_history_kept(tmp_path: Path) -> None:
    history = History(tmp_path)
    try:
        history.reserve("c", ["first"])
        # SQLite's own way to run out of room: the file may not grow by one page more.
        history._conn().execute(
            "PRAGMA max_page_count = " + str(history._conn().execute(
                "PRAGMA page_count").fetchone()[0]))
        with pytest.raises(HistoryUnavailableError, match="database or disk is full"):
            history.reserve("c", [f"task-{n}-{'x' * 200}" for n in range(500)])
        held = history._conn().execute("SELECT id FROM tasks").fetchall()
        assert held == [("first",)], "none of the second run's ids half-reserved"
    finally:
        history.close()
    assert not list((tmp_path / ".yui").glob("history.sqlite3.damaged-*")), "not set aside"


def test_a_folder_where_the_history_belongs_is_said_not_taken_for_damage(
        tmp_path: Path) -> None:
    (tmp_path / ".yui" / "history.sqlite3").mkdir(parents=True)
    history = History(tmp_path)
    try:
        with pytest.raises(HistoryUnavailableError, match="cannot be used now"):
            history.reserve("c", ["a"])
    finally:
        history.close()
    with pytest.raises(HistoryUnavailableError, match="cannot be used now"):
        glance.history(tmp_path)
    assert (tmp_path / ".yui" / "history.sqlite3").is_dir()


async def test_the_history_writer_keeps_states_a_full_disk_refused_until_it_has_room(
        tmp_path: Path) -> None:
    history = History(tmp_path)
    writer = HistoryWriter(history)
    try:
        history.reserve("c", ["t"])
        pages = history._conn().execute("PRAGMA page_count").fetchone()[0]
        history._conn().execute(f"PRAGMA max_page_count = {pages}")  # no room to grow

        def entry(status: TaskStatus) -> HistoryEntry:
            info = TaskInfo(task=Task(id="t", title="t", prompt="x" * 20_000), status=status,
                            coordinator_id="c")
            return HistoryEntry(info=info, metrics={}, log_path="")

        writer.note("t", lambda: entry(TaskStatus.RUNNING))
        assert await writer.flush() is False, "refused, not raised: the tasks go on"
        writer.note("t", lambda: entry(TaskStatus.COMPLETED))  # a newer state meanwhile
        history._conn().execute(f"PRAGMA max_page_count = {pages * 100}")  # room again
        assert await writer.flush() is True
        recorded = history.get("t")
        assert recorded is not None and recorded.info.status is TaskStatus.COMPLETED
    finally:
        history.close()
