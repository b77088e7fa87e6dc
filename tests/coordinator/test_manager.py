"""ParallelTaskManager end to end with the built-in workers: real sandboxes, real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import psutil
import pytest

from tests.support import pid_running
from yui_lsp import BlockingTaskManager, ParallelTaskManager, Task, TaskStatus
from yui_lsp.config import Settings
from yui_lsp.errors import DependencyCycleError, PlanError, UnknownAgentError
from yui_lsp.protocol import Plan, RefactorSpec

PY = sys.executable


def stamp(name: str, log: Path, sleep: float = 0.3) -> list[str]:
    """A command that appends its start and end time to ``log`` (outside the workspace)."""
    code = (
        "import time,sys;"
        f"open({str(log)!r},'a').write(f'{name} start {{time.time()}}\\n');"
        f"time.sleep({sleep});"
        f"open({str(log)!r},'a').write(f'{name} end {{time.time()}}\\n')"
    )
    return [PY, "-c", code]


def barrier(name: str, gate: Path, parties: int) -> list[str]:
    """A command that arrives at ``gate`` and waits (20 s at most) for ``parties`` arrivals."""
    code = (
        f"import pathlib,time,sys;g=pathlib.Path({str(gate)!r});(g/{name!r}).touch()\n"
        "end=time.time()+20\n"
        f"while len(list(g.iterdir()))<{parties}:\n"
        "    time.sleep(0.02)\n"
        "    if time.time()>end: sys.exit('the other tasks never ran alongside')\n"
    )
    return [PY, "-c", code]


def intervals(log: Path) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        name, _, t = line.split()
        spans.setdefault(name, []).append(float(t))
    return {k: (v[0], v[1]) for k, v in spans.items()}


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def write_file(rel: str, text: str) -> list[str]:
    code = (
        f"import pathlib;p=pathlib.Path({rel!r});p.parent.mkdir(parents=True,exist_ok=True);"
        f"p.write_text({text!r})"
    )
    return [PY, "-c", code]


async def test_independent_tasks_run_at_the_same_time(
    repo: Path, settings: Settings, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    async with ParallelTaskManager(repo, settings=settings, max_workers=3) as m:
        for name in ("one", "two", "three"):
            await m.submit_task(Task(id=name, command=barrier(name, gate, 3)), "shell")
        results = await m.wait_for_completion(timeout=60)
    # Each task waits until all three have arrived: run one after another, they would fail.
    assert [r.status for r in results] == [TaskStatus.COMPLETED] * 3, results


async def test_no_parallel_runs_one_at_a_time(
    repo: Path, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "times.log"
    async with ParallelTaskManager(repo, settings=settings, sequential=True) as m:
        for name in ("one", "two"):
            await m.submit_task(Task(id=name, command=stamp(name, log, 0.1)), "shell")
        await m.wait_for_completion(timeout=60)
    spans = intervals(log)
    assert not overlap(spans["one"], spans["two"])


async def test_results_land_in_workspace_and_dependents_see_them(
    repo: Path, settings: Settings
) -> None:
    reader = [
        PY,
        "-c",
        "import pathlib;t=pathlib.Path('gen/api.txt').read_text();"
        "pathlib.Path('gen/check.txt').write_text('saw '+t)",
    ]
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_plan(
            Plan(
                tasks=[
                    Task(
                        id="api",
                        agent="yui",
                        command=write_file("gen/api.txt", "v1"),
                        claims=["gen/api.txt"],
                    ),
                    Task(
                        id="check",
                        agent="yui",
                        command=reader,
                        depends_on=["api"],
                        claims=["gen/check.txt"],
                    ),
                ]
            )
        )
        results = {r.task_id: r for r in await m.wait_for_completion(timeout=60)}
    assert results["api"].status == TaskStatus.COMPLETED
    assert results["check"].status == TaskStatus.COMPLETED, results["check"].error
    assert (repo / "gen" / "check.txt").read_text() == "saw v1"
    assert results["api"].files_modified == ["gen/api.txt"]


async def test_cycle_refused_at_submission_naming_it(repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        with pytest.raises(DependencyCycleError, match="a -> b -> a"):
            await m.submit_plan(
                Plan(
                    tasks=[
                        Task(id="a", command=["true"], depends_on=["b"]),
                        Task(id="b", command=["true"], depends_on=["a"]),
                    ]
                )
            )
        assert m.monitor_progress() == {}


async def test_failure_is_isolated_and_dependents_are_not_started(
    repo: Path, settings: Settings
) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_plan(
            Plan(
                tasks=[
                    Task(id="bad", agent="shell", command=[PY, "-c", "raise SystemExit(3)"]),
                    Task(id="after-bad", agent="shell", command=["true"], depends_on=["bad"]),
                    Task(id="fine", agent="shell", command=write_file("ok.txt", "ok")),
                ]
            )
        )
        results = {r.task_id: r for r in await m.wait_for_completion(timeout=60)}
    assert results["bad"].status == TaskStatus.FAILED
    assert "3" in (results["bad"].error or "")
    assert results["after-bad"].status == TaskStatus.FAILED
    assert "dependency 'bad'" in (results["after-bad"].error or "")
    assert results["fine"].status == TaskStatus.COMPLETED
    assert (repo / "ok.txt").read_text() == "ok"


async def test_cancel_running_task_ends_its_process(
    repo: Path, settings: Settings, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    code = f"import time;open({str(pidfile)!r},'w').write('up');time.sleep(60)"
    marker = f"sleepy-{tmp_path.name}"
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(Task(id="sleepy", command=[PY, "-c", code, marker]), "shell")
        with anyio.fail_after(20):
            while not pidfile.exists() or not pidfile.read_text():
                await anyio.sleep(0.05)
        pid = pid_running(marker)
        assert await m.cancel("sleepy") is True
        result = await fut.result(timeout=20)
    assert result.status == TaskStatus.CANCELLED
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_cancel_queued_task(repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings, max_workers=1) as m:
        await m.submit_task(
            Task(id="first", command=[PY, "-c", "import time;time.sleep(1)"]), "shell"
        )
        second = await m.submit_task(Task(id="second", command=["true"]), "shell")
        await m.cancel("second")
        assert (await second.result(timeout=5)).status == TaskStatus.CANCELLED
        await m.wait_for_completion(timeout=30)


async def test_timeout_stops_the_agent(repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(
            Task(id="slow", timeout_s=0.5, command=[PY, "-c", "import time;time.sleep(30)"]),
            "shell",
        )
        result = await fut.result(timeout=20)
    assert result.status == TaskStatus.FAILED
    assert "within 0.5 s" in (result.error or "")


async def test_failed_run_is_retried(repo: Path, settings: Settings, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    code = (
        f"import pathlib;p=pathlib.Path({str(counter)!r});"
        "n=int(p.read_text() or 0) if p.exists() else 0;"
        "p.write_text(str(n+1));raise SystemExit(0 if n else 1)"
    )
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(
            Task(id="flaky", max_retries=2, command=[PY, "-c", code]), "shell"
        )
        result = await fut.result(timeout=30)
    assert result.status == TaskStatus.COMPLETED
    assert result.attempts == 2


async def test_priorities_order_ready_tasks(repo: Path, settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "times.log"
    async with ParallelTaskManager(repo, settings=settings, max_workers=1) as m:
        await m.submit_task(Task(id="blocker", command=stamp("blocker", log, 0.5)), "shell")
        await m.submit_task(Task(id="low", priority=0, command=stamp("low", log, 0.0)), "shell")
        await m.submit_task(Task(id="high", priority=5, command=stamp("high", log, 0.0)), "shell")
        await m.wait_for_completion(timeout=60)
    spans = intervals(log)
    assert spans["high"][0] < spans["low"][0]


async def test_overlapping_claims_never_run_together(
    repo: Path, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "times.log"
    gate = tmp_path / "gate"
    gate.mkdir()
    both = [
        PY,
        "-c",
        f"import subprocess;subprocess.run({barrier('whole', gate, 2)!r}, check=True);"
        f"subprocess.run({stamp('whole', log)!r}, check=True)",
    ]
    async with ParallelTaskManager(repo, settings=settings, max_workers=4) as m:
        await m.submit_task(Task(id="whole", claims=["src/**"], command=both), "shell")
        await m.submit_task(Task(id="one", claims=["src/a.py"], command=stamp("one", log)), "shell")
        await m.submit_task(
            Task(id="docs", claims=["README.md"], command=barrier("docs", gate, 2)), "shell"
        )
        results = await m.wait_for_completion(timeout=60)
    assert all(r.status == TaskStatus.COMPLETED for r in results), results
    spans = intervals(log)
    assert not overlap(spans["whole"], spans["one"])


async def test_unknown_agent_and_missing_command_are_clear_errors(
    repo: Path, settings: Settings
) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        with pytest.raises(UnknownAgentError, match="unknown agent 'gpt9'"):
            await m.submit_task(Task(prompt="hi"), "gpt9")
        with pytest.raises(PlanError, match="needs `command"):
            await m.submit_task(Task(id="x"), "shell")


async def test_refactor_builtin_rewrites_exactly(repo: Path, settings: Settings) -> None:
    (repo / "src" / "bin.dat").write_bytes(b"x = 1\x00\xff")
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(
            Task(
                id="rename",
                claims=["src/**"],
                refactor=RefactorSpec(
                    pattern=r"\b([xy]) = (\d)", replacement=r"\1 = \2 + 0", regex=True
                ),
            ),
            "refactor",
        )
        result = await fut.result(timeout=30)
    assert result.status == TaskStatus.COMPLETED, result.error
    assert (repo / "src" / "a.py").read_text() == "x = 1 + 0\n"
    assert (repo / "src" / "b.py").read_text() == "y = 2 + 0\n"
    assert (repo / "src" / "bin.dat").read_bytes() == b"x = 1\x00\xff"
    assert sorted(result.files_modified) == ["src/a.py", "src/b.py"]


async def test_yui_refactor_spec_lands_directly_with_its_files(
    repo: Path, settings: Settings
) -> None:
    # A `yui` task carrying a refactor spec takes the same exact path as `refactor`: the
    # spec's files win over the claims, and line endings stay as they were.
    (repo / "src" / "crlf.txt").write_bytes(b"old\r\nold\r\n")
    (repo / "src" / "other.txt").write_text("old\n")
    async with ParallelTaskManager(repo, settings=settings) as m:
        fut = await m.submit_task(
            Task(id="crlf", claims=["src/**"],
                 refactor=RefactorSpec(pattern="old", replacement="new", files=["src/crlf.txt"])),
            "yui",
        )
        result = await fut.result(timeout=30)
    assert result.status == TaskStatus.COMPLETED, result.error
    assert result.files_modified == ["src/crlf.txt"]
    assert (repo / "src" / "crlf.txt").read_bytes() == b"new\r\nnew\r\n"
    assert (repo / "src" / "other.txt").read_text() == "old\n"


async def test_audit_log_keeps_lease_changes_not_whole_lease_tables(
        repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_task(Task(id="leasing", command=write_file("h.txt", "hi"),
                                 claims=["h.txt", "docs/**"]), "shell")
        await m.wait_for_completion(timeout=30)
    lines = [json.loads(x) for x in (repo / ".yui" / "audit.jsonl").read_text().splitlines()]
    events = [(x["event"], x["paths"]) for x in lines
              if x["type"] == "workspace_event" and x["event"].startswith("lease_")]
    assert events == [("lease_acquired", ["h.txt", "docs/**"]), ("lease_released", [])]
    assert not any(x["type"] == "locks_changed" for x in lines), \
        "a lease table is a snapshot of the lease files, megabytes with thousands of leases"


async def test_audit_log_has_seed_shaped_messages(repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_task(Task(id="hello", command=write_file("h.txt", "hi")), "shell")
        await m.wait_for_completion(timeout=30)
    lines = [json.loads(x) for x in (repo / ".yui" / "audit.jsonl").read_text().splitlines()]
    updates = [x for x in lines if x["type"] == "task_update" and x["task_id"] == "hello"]
    assert {
        "type",
        "agent_id",
        "task_id",
        "status",
        "progress",
        "files_modified",
        "timestamp",
    } <= set(updates[-1])
    assert updates[0]["status"] == "pending"
    assert updates[-1]["status"] == "completed" and updates[-1]["progress"] == 1.0
    assert updates[-1]["files_modified"] == ["h.txt"]
    assert any(x["type"] == "task_metrics" for x in lines)


async def test_tasks_submitted_while_others_run(repo: Path, settings: Settings) -> None:
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_task(
            Task(id="long", command=[PY, "-c", "import time;time.sleep(0.5)"]), "shell"
        )
        await anyio.sleep(0.1)
        await m.submit_task(Task(id="later", command=["true"]), "shell")
        results = await m.wait_for_completion(timeout=30)
    assert {r.task_id for r in results} == {"long", "later"}


async def test_short_memory_holds_new_tasks_back_and_says_why(repo: Path, tmp_path: Path) -> None:
    settings = Settings(sandbox_dir=str(tmp_path / "sb"), min_free_memory_mb=10**9)
    messages: list[str] = []
    async with ParallelTaskManager(repo, settings=settings, max_workers=4) as m:
        m.bus.add_listener(lambda msg: messages.append(getattr(msg, "message", "")))
        await m.submit_task(
            Task(id="a", command=[PY, "-c", "import time;time.sleep(0.3)"]), "shell"
        )
        await m.submit_task(Task(id="b", command=["true"]), "shell")
        results = await m.wait_for_completion(timeout=30)
    assert all(r.status == TaskStatus.COMPLETED for r in results)
    assert any(msg.startswith("waiting for memory") for msg in messages)


def test_blocking_wrapper(repo: Path, settings: Settings) -> None:
    with BlockingTaskManager(repo, settings=settings) as m:
        m.submit_task(Task(id="sync", command=write_file("s.txt", "s")), "shell")
        results = m.wait_for_completion(timeout=30)
    assert results[0].status == TaskStatus.COMPLETED
    assert (repo / "s.txt").read_text() == "s"
    assert not list((repo / ".yui" / "coordinators").glob("*.json"))


def test_sandboxes_leave_nothing_behind(repo: Path, settings: Settings, tmp_path: Path) -> None:
    with BlockingTaskManager(repo, settings=settings) as m:
        for i in range(3):
            m.submit_task(Task(id=f"t{i}", command=write_file(f"f{i}.txt", "x")), "shell")
        m.wait_for_completion(timeout=30)
    leftovers = (
        [p for p in (tmp_path / "sandboxes").rglob("*") if p.is_file()]
        if (tmp_path / "sandboxes").exists()
        else []
    )
    assert leftovers == []
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert len(worktrees.strip().splitlines()) == 1


async def test_long_lived_coordinator_forgets_old_results_but_not_their_outcome(
    repo: Path, tmp_path: Path
) -> None:
    settings = Settings(sandbox_dir=str(tmp_path / "sb"), task_retention=3)
    async with ParallelTaskManager(repo, settings=settings, sequential=True) as m:
        for i in range(8):
            await m.submit_task(
                Task(id=f"t{i}", refactor=RefactorSpec(pattern="zzz", replacement="q")),
                "refactor",
            )
        await m.wait_for_completion(timeout=60)
        assert [r.task_id for r in m.get_results()] == ["t5", "t6", "t7"]
        # A forgotten task still counts as completed for its dependents, and its id stays taken.
        later = await m.submit_task(
            Task(id="after", depends_on=["t0"], command=["true"]), "shell"
        )
        assert (await later.result(timeout=30)).status == TaskStatus.COMPLETED
        with pytest.raises(PlanError, match="used twice"):
            await m.submit_task(Task(id="t0", command=["true"]), "shell")
