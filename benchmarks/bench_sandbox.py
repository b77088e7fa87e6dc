"""Sandbox ready time (cold, warm) against `git worktree add`, and per-task overhead.

Sandboxes are not worktrees (they have a git directory of their own), but `git worktree
add` stays the baseline: the cheapest way git itself offers to get a second work tree.

Run: ``python benchmarks/bench_sandbox.py`` (prints one JSON object per measurement).
Every figure is the median of a few runs on generated repositories in a temp folder; the
baseline is measured in the same run on the same repository.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from yui_lsp.protocol import Task
from yui_lsp.workspace import (
    DiskReader,
    JournaledApplier,
    SandboxPool,
    integrate,
)
from yui_lsp.workspace.sandbox import Sandbox

SIZES = (1_000, 10_000)
REPEATS = 5
#: Sandboxes handed out at once in the burst figure (a plan starting on 8 workers).
BURST = 8
_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=_ENV, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> Path:
    """A committed repository of ``files`` small source files in nested folders."""
    root.mkdir(parents=True)
    _git(root, "init", "-q")
    for i in range(files):
        path = root / f"pkg{i % 20}" / f"mod{i % 7}" / f"file{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# module {i}\n" + "def f():\n    return 1\n" * 5)
    (root / "README.md").write_text("# bench\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "generated")
    # A user mid-work: one modified file and one untracked file, as in real use.
    (root / "README.md").write_text("# bench (edited)\n")
    (root / "notes.txt").write_text("untracked\n")
    return root


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _worktree_add(repo: Path, target: Path) -> float:
    started = time.perf_counter()
    _git(repo, "worktree", "add", "-q", "--detach", str(target), "HEAD")
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    _git(repo, "worktree", "prune")
    return elapsed


async def _measure(repo: Path, cache: Path) -> dict[str, float]:
    # The baseline is taken in the same loop as the cold path, so both see the same disk
    # state (write-back of the previous trees) and the ratio stays fair.
    baseline: list[float] = []
    cold: list[float] = []
    warm: list[float] = []
    release: list[float] = []
    overhead: list[float] = []
    burst: list[float] = []
    for i in range(REPEATS):
        baseline.append(await anyio.to_thread.run_sync(
            _worktree_add, repo, cache.with_name(f"{cache.name}-wt{i}")))
        pool = SandboxPool(repo, cache, include=[".env"], pool_size=1)
        sandbox = await pool.acquire(f"cold-{i}")
        cold.append(sandbox.ready_s)
        started = time.perf_counter()
        await pool.release(sandbox)
        release.append(time.perf_counter() - started)
        sandbox = await pool.acquire(f"warm-{i}")
        warm.append(sandbox.ready_s)
        await pool.release(sandbox)
        overhead.append(await _one_task(repo, pool, i))
        await pool.close()
        burst.append(await _burst(repo, cache, i))
    return {"baseline": _median(baseline), "cold": _median(cold), "warm": _median(warm),
            "release": _median(release), "overhead": _median(overhead),
            "burst": _median(burst)}


async def _burst(repo: Path, cache: Path, i: int) -> float:
    """Seconds until BURST warm sandboxes handed out at once are all ready."""
    pool = SandboxPool(repo, cache, include=[".env"], pool_size=BURST)

    async def take(bucket: list[Sandbox], task_id: str) -> None:
        bucket.append(await pool.acquire(task_id))

    try:
        for rnd in range(2):  # the first round fills the pool, the second is measured
            started = time.perf_counter()
            sandboxes: list[Sandbox] = []
            async with anyio.create_task_group() as group:
                for n in range(BURST):
                    group.start_soon(take, sandboxes, f"burst-{i}-{rnd}-{n}")
            elapsed = time.perf_counter() - started
            for sandbox in sandboxes:
                await pool.release(sandbox)
        return elapsed
    finally:
        await pool.close()


async def _one_task(repo: Path, pool: SandboxPool, i: int) -> float:
    """Sandbox + a one-file change + diff + merge + apply, as one task does it."""
    started = time.perf_counter()
    sandbox = await pool.acquire(f"task-{i}")
    target = sandbox.path / "pkg1" / "mod1" / "file1.py"
    target.write_text(target.read_text() + f"# change {i}\n")
    changes = await anyio.to_thread.run_sync(sandbox.diff)
    result = integrate(changes, sandbox, DiskReader(repo), ["pkg1/**"], lambda _p: None)
    await JournaledApplier(repo, retention=5).apply(Task(id=f"task-{i}"), result)
    await pool.release(sandbox)
    return time.perf_counter() - started


def run(quick: bool | None = None) -> list[dict[str, Any]]:
    """Measure every figure; one dict per figure (name, value, unit, baseline, ratio, note).

    ``quick`` (or ``YUI_BENCH_QUICK=1``) uses one small repository: a smoke run.
    """
    if quick is None:
        quick = os.environ.get("YUI_BENCH_QUICK") == "1"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="yui-bench-") as tmp:
        for size in (200,) if quick else SIZES:
            repo = make_repo(Path(tmp) / f"repo{size}", size)
            figures = anyio.run(_measure, repo, Path(tmp) / f"cache{size}")
            baseline = figures["baseline"]
            label = f"{size // 1000}k files" if size >= 1000 else f"{size} files"
            for name, note in (
                ("cold", "new sandbox with its own git directory (borrowing the repo's "
                         "objects read-only) + the user's uncommitted changes + base commit"),
                ("warm", "pooled sandbox: one status of the workspace, base commit reused "
                         "while unchanged, no checkout when the sandbox holds it already, "
                         "the agent's .git rebuilt (reset and clean check on release, "
                         f"{figures['release'] * 1000:.0f} ms, not counted)"),
                ("burst", f"{BURST} warm sandboxes handed out at once, until all are ready "
                          "(they share one workspace snapshot)"),
                ("overhead", "per task: warm sandbox + one-file edit + diff + merge + "
                             "journaled apply + release"),
            ):
                title = {"overhead": "per-task overhead",
                         "burst": f"{BURST} sandboxes ready at once"}.get(
                             name, f"sandbox ready ({name})")
                rows.append({
                    "name": f"{title}, {label}",
                    "value": round(figures[name] * 1000, 1),
                    "unit": "ms",
                    "baseline": round(baseline * 1000, 1),
                    "ratio": round(figures[name] / baseline, 3),
                    "note": f"{note}; baseline: plain `git worktree add` of the same repo",
                })
    return rows


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for row in run():
        print(json.dumps(row))
