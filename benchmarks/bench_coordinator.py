"""Coordinator figures: submission latency, makespans, `yui refactor` against sed, memory.

Each figure has a baseline measured in the same run (or, for latency, the seed's target,
which the note says). Everything happens in temporary git repositories; sandboxes go to a
temporary folder, never the user's cache.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager
from yui_lsp.protocol import RefactorSpec, Task, TaskStatus

Figure = dict[str, Any]
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def _quick() -> bool:
    return os.environ.get("YUI_BENCH_QUICK") == "1"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@yui.invalid", *args],
        cwd=root, check=True, capture_output=True,
    )


@contextmanager
def _repo(files: dict[str, str] | None = None) -> Iterator[tuple[Path, Settings]]:
    """A committed git repository and settings keeping sandboxes beside it."""
    with tempfile.TemporaryDirectory(prefix="yui-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        for rel, text in (files or {"README.md": "bench\n"}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", "bench")
        yield root, Settings(sandbox_dir=str(Path(tmp) / "sandboxes"), max_workers=8)


def _figure(name: str, value: float, unit: str, baseline: float | None, note: str) -> Figure:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio,
            "note": note}


# ------------------------------------------------------------------------------ latency


async def _submit_latency(queued: int) -> list[float]:
    with _repo() as (root, settings):
        async with ParallelTaskManager(root, settings=settings, max_workers=1) as manager:
            # One long task holds the only worker, so every later submission stays queued.
            await manager.submit_task(Task(id="holder", agent="shell", command=["sleep", "60"]))
            with anyio.fail_after(30):
                while manager.monitor_progress()["holder"] != TaskStatus.RUNNING:
                    await anyio.sleep(0.01)
            timings = []
            for i in range(queued):
                task = Task(id=f"q{i}", agent="shell", command=["true"])
                started = time.perf_counter()
                await manager.submit_task(task)
                timings.append(time.perf_counter() - started)
            assert sum(1 for s in manager.monitor_progress().values()
                       if s == TaskStatus.QUEUED) == queued
            for task_id in manager.monitor_progress():
                await manager.cancel(task_id)
            await manager.wait_for_completion(timeout=30)
    return timings


def bench_latency(quick: bool) -> list[Figure]:
    queued = 100 if quick else 1000
    timings = sorted(anyio.run(_submit_latency, queued))
    p50 = statistics.median(timings) * 1000
    p99 = timings[max(0, int(len(timings) * 0.99) - 1)] * 1000
    note = f"{queued} tasks queued behind a busy worker; baseline = seed target 100 ms"
    return [
        _figure("submit_task latency p50", p50, "ms", 100.0, note),
        _figure("submit_task latency p99", p99, "ms", 100.0, note + "; aim < 5 ms"),
    ]


# ------------------------------------------------------------------------------ makespans


async def _makespan(tasks: list[Task], workers: int, sequential: bool = False) -> float:
    with _repo() as (root, settings):
        async with ParallelTaskManager(
            root, settings=settings, max_workers=workers, sequential=sequential,
        ) as manager:
            started = time.perf_counter()
            for task in tasks:
                await manager.submit_task(task)
            results = await manager.wait_for_completion()
            elapsed = time.perf_counter() - started
    bad = [r for r in results if r.status != TaskStatus.COMPLETED]
    if bad:
        raise RuntimeError(f"{len(bad)} tasks did not complete: {bad[0].error}")
    return elapsed


def bench_sleep_makespan(quick: bool) -> list[Figure]:
    count, seconds, workers = (8, 0.5, 4) if quick else (40, 0.5, 8)
    tasks = [Task(id=f"s{i}", agent="shell", command=["sleep", str(seconds)])
             for i in range(count)]
    ideal = count * seconds / workers
    parallel = anyio.run(_makespan, tasks, workers)
    sequential = anyio.run(_makespan, tasks, workers, True)
    return [
        _figure(f"makespan, {count} × sleep {seconds} on {workers} workers", parallel, "s",
                ideal, f"baseline = ideal {ideal:g} s; aim ≤ 1.05 × ideal + 0.2 s"),
        _figure("makespan --no-parallel (same tasks)", sequential, "s", parallel,
                f"ratio = speedup of parallel: {sequential / parallel:.1f}×"),
    ]


def _random_dag(count: int, seed: int) -> tuple[list[Task], dict[str, float]]:
    rng = random.Random(seed)
    tasks, durations = [], {}
    for i in range(count):
        earlier = [f"d{j}" for j in range(i)]
        deps = rng.sample(earlier, k=min(len(earlier), rng.choice((0, 0, 1, 1, 2, 3))))
        duration = round(rng.uniform(0.1, 0.6), 2)
        durations[f"d{i}"] = duration
        tasks.append(Task(id=f"d{i}", agent="shell", command=["sleep", str(duration)],
                          depends_on=deps))
    return tasks, durations


def _critical_path(tasks: list[Task], durations: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for task in tasks:  # ids are in a topological order by construction
        finish[task.id] = durations[task.id] + max((finish[d] for d in task.depends_on),
                                                   default=0.0)
    return max(finish.values())


def bench_dag(quick: bool) -> list[Figure]:
    count, workers = (12, 4) if quick else (50, 4)
    tasks, durations = _random_dag(count, seed=7)
    bound = max(_critical_path(tasks, durations), sum(durations.values()) / workers)
    makespan = anyio.run(_makespan, tasks, workers)
    return [_figure(f"random DAG of {count} sleep tasks, {workers} workers", makespan, "s",
                    bound, "baseline = max(critical path, total work / workers)")]


# ------------------------------------------------------------------------------ refactor


def _tree(count: int) -> dict[str, str]:
    files = {}
    for i in range(count):
        body = "".join(f"line {n} of file {i}\n" for n in range(12))
        if i % 2 == 0:
            body += f"from old_module import old_name\nvalue = old_name({i})  # old_name\n"
        files[f"src/pkg{i % 50}/mod{i}.py"] = body
    return files


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "src").rglob("*")) if p.is_file()}


def bench_refactor(quick: bool) -> list[Figure]:
    count = 300 if quick else 10_000
    with _repo(_tree(count)) as (root, _settings), tempfile.TemporaryDirectory() as other:
        copy = Path(other) / "copy"
        shutil.copytree(root / "src", copy / "src")
        paths = sorted(str(p) for p in (copy / "src").rglob("*.py"))
        started = time.perf_counter()
        subprocess.run(["sed", "-i", "s/old_name/new_name/g", *paths], check=True)
        sed_s = time.perf_counter() - started
        # yui's apply is durable (journal + fsync per file); sed's is not. Timing sed plus a
        # flush of the same filesystem shows how much of the gap is that durability.
        durable = Path(other) / "durable"
        shutil.copytree(root / "src", durable / "src")
        subprocess.run(["sync", "-f", str(durable)], check=True)
        durable_paths = sorted(str(p) for p in (durable / "src").rglob("*.py"))
        started = time.perf_counter()
        subprocess.run(["sed", "-i", "s/old_name/new_name/g", *durable_paths], check=True)
        subprocess.run(["sync", "-f", str(durable)], check=True)
        durable_s = time.perf_counter() - started

        env = dict(os.environ, CI="true", XDG_CACHE_HOME=str(Path(other) / "cache"),
                   PYTHONPATH=str(SOURCE_ROOT))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "yui_lsp.cli.main", "refactor", "--pattern", "old_name",
             "--replacement", "new_name", "--files", "src/**/*.py", "--max-workers", "4",
             "--json"],
            cwd=root, env=env, capture_output=True, text=True,
        )
        yui_s = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"yui refactor failed: {done.stderr.strip()[-300:]}")
        identical = _snapshot(root) == _snapshot(copy)
    if not identical:
        raise RuntimeError("yui refactor and sed produced different trees")
    return [
        _figure(f"yui refactor over {count:,} files (half match)", yui_s, "s", sed_s,
                "baseline = sed -i over a copy; trees identical; includes CLI start-up; "
                "aim ratio ≤ 1.5"),
        _figure("same, against sed -i + sync -f", yui_s, "s", durable_s,
                "baseline flushes its writes to disk, as yui's journaled apply does"),
    ]


# ------------------------------------------------------------------------------ memory


async def _rss_growth(count: int) -> dict[str, float]:
    import psutil

    from yui_lsp.runtime import limit_malloc_arenas

    limit_malloc_arenas()  # as the `yui` and `yui-lsp` entry points do

    process = psutil.Process()
    with _repo({"a.txt": "nothing to see\n"}) as (root, settings):
        async with ParallelTaskManager(root, settings=settings, max_workers=8) as manager:
            spec = RefactorSpec(pattern="absent", replacement="x", files=["a.txt"])

            async def batch(prefix: str, size: int) -> None:
                for i in range(size):
                    await manager.submit_task(Task(id=f"{prefix}{i}", agent="yui", refactor=spec))
                await manager.wait_for_completion()

            await batch("warm", 200)  # imports, caches and pools reach their steady size
            before = process.memory_info().rss
            started = time.perf_counter()
            await batch("t", count)
            elapsed = time.perf_counter() - started
            after = process.memory_info().rss
            # A second batch of the same size tells a leak (grows again) from a plateau
            # (the retained results and the allocator's high-water mark, reached once).
            await batch("u", count)
            again = process.memory_info().rss
    return {"before_mb": before / 2**20, "after_mb": after / 2**20, "again_mb": again / 2**20,
            "seconds": elapsed}


def bench_memory(quick: bool) -> list[Figure]:
    count = 300 if quick else 10_000
    # A fresh process: the other figures' allocations must not count.
    done = subprocess.run(
        [sys.executable, __file__, "--rss", str(count)], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(SOURCE_ROOT)), check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    growth = figures["after_mb"] - figures["before_mb"]
    return [
        _figure(f"coordinator RSS growth over {count:,} tiny tasks", growth, "MB",
                figures["before_mb"], f"baseline = RSS before ({figures['before_mb']:.0f} MB); "
                "aim growth < 20 MB"),
        _figure(f"coordinator RSS growth over the next {count:,} tiny tasks",
                figures["again_mb"] - figures["after_mb"], "MB", figures["after_mb"],
                "baseline = RSS after the first batch; aim < 5 MB; a leak would grow here as "
                "much again; "
                "the first batch's growth holds the last task_retention (1000) results and "
                "the allocator's high-water mark of 10,000 queued tasks; malloc arenas capped at 2 "
                "as the yui entry points do"),
        _figure("tiny task throughput", count / figures["seconds"], "tasks/s", None,
                "refactor tasks that match nothing: scheduling + bus + audit per task"),
    ]


def run(quick: bool | None = None) -> list[Figure]:
    """Every coordinator figure (small sizes with ``quick``)."""
    quick = _quick() if quick is None else quick
    figures: list[Figure] = []
    for bench in (bench_latency, bench_sleep_makespan, bench_dag, bench_refactor,
                  bench_memory):
        try:
            figures += bench(quick)
        except Exception as exc:  # one failed figure must not hide the others
            figures.append(_figure(bench.__name__, float("nan"), "", None,
                                   f"FAILED: {type(exc).__name__}: {str(exc)[:160]}"))
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        print(json.dumps(anyio.run(_rss_growth, int(sys.argv[2]))))
    else:
        for figure in run():
            print(figure)
