"""Attempts on a Ray cluster: per-attempt overhead against local, and makespan against ideal.

Run: ``python benchmarks/bench_ray.py`` (prints one JSON object per figure). The cluster (a
head and two worker nodes, 4 slots each, all on this machine's loopback) and the
coordinator run inside a network namespace of their own (``unshare --net``, as root), so
nothing leaves loopback. Figures:

* per-attempt overhead for a one-file change: one task at a time, submission to landed,
  median after a warm-up; baseline: the same task with the local executor, same run.
* makespan of N tasks that each sleep 1 s on 3 nodes × 4 slots (max_workers 12);
  baseline: the ideal, N / 12 seconds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SLOTS = 4
NODES = 3


def _inside(quick: bool) -> list[dict[str, Any]]:
    import anyio

    from tests.executors.cluster import ADDRESS, Cluster
    from tests.support import init_repo
    from yui_lsp import ParallelTaskManager, Task
    from yui_lsp.config import Settings

    tasks_n = 12 if quick else 60
    repeats = 3 if quick else 7
    work = Path(tempfile.mkdtemp(prefix="yui-bench-ray-"))
    root = init_repo(work / "repo", {"README.md": "# bench\n", "src/a.py": "x = 1\n"})
    (root / "src" / "a.py").write_text("x = 1  # the user's uncommitted edit\n")

    async def warm(settings: Settings) -> None:
        # Every Ray worker process imports yui-lsp on its first attempt (about a second on
        # this machine); a long-lived cluster pays that once per worker, so warm them all.
        async with ParallelTaskManager(root, settings=settings,
                                       max_workers=NODES * SLOTS) as manager:
            for i in range(NODES * SLOTS * 2):
                await manager.submit_task(Task(
                    id=f"warm-{i}", agent="shell", claims=[f"warm/{i}.txt"],
                    command=["sh", "-c", f"sleep 1; mkdir -p warm && echo {i} > warm/{i}.txt"]))
            await manager.wait_for_completion(timeout=600)

    async def one_file(settings: Settings) -> float:
        samples = []
        async with ParallelTaskManager(root, settings=settings, max_workers=1) as manager:
            for i in range(repeats + 2):
                started = time.perf_counter()
                future = await manager.submit_task(Task(
                    id=f"{settings.executor}-one-{i}", agent="shell", claims=[f"out/{i}.txt"],
                    command=["sh", "-c", f"mkdir -p out && echo {i} > out/{i}.txt"]))
                result = await future.result(timeout=120)
                assert result.status.value == "completed", result.error
                if i >= 2:  # the first ones warm the pools and the nodes' repositories
                    samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    async def makespan(settings: Settings) -> float:
        async with ParallelTaskManager(root, settings=settings,
                                       max_workers=NODES * SLOTS) as manager:
            started = time.perf_counter()
            for i in range(tasks_n):
                await manager.submit_task(Task(
                    id=f"{settings.executor}-sleep-{i}", agent="shell", claims=[f"slept/{i}.txt"],
                    command=["sh", "-c", f"sleep 1 && mkdir -p slept && echo {i} > slept/{i}.txt"]))
            await manager.wait_for_completion(timeout=600)
            took = time.perf_counter() - started
            failed = [r.error for r in manager.get_results() if r.status.value != "completed"]
            assert not failed, failed[:3]
        return took

    local = Settings(sandbox_dir=str(work / "sandboxes"))
    ray = local.merged({"executor": "ray", "ray_address": ADDRESS})
    with Cluster([("n1", SLOTS, {}, {}), ("n2", SLOTS, {}, {})], head_cpus=SLOTS):
        local_s = anyio.run(one_file, local)
        anyio.run(warm, ray)
        ray_s = anyio.run(one_file, ray)
        span = anyio.run(makespan, ray)
        local_span = anyio.run(makespan, local)
    ideal = tasks_n / (NODES * SLOTS)
    return [
        {"name": "per-attempt overhead, one-file change (ray)", "value": round(ray_s * 1000, 1),
         "unit": "ms", "baseline": round(local_s * 1000, 1), "ratio": round(ray_s / local_s, 2),
         "note": "submission to landed, one task at a time, warm worker processes: pack of "
                 "the user's "
                 "changes out, sandbox from the node's pool, change set back, merge and "
                 "journaled apply here; baseline: the local executor, same task"},
        {"name": f"makespan, {tasks_n} × 1 s tasks on {NODES} nodes × {SLOTS} slots",
         "value": round(span, 2), "unit": "s", "baseline": round(ideal, 2),
         "ratio": round(span / ideal, 2),
         "note": f"max_workers {NODES * SLOTS}; every node on this one machine "
                 f"({os.cpu_count()} cores), so set-up and landing share its CPUs; "
                 "baseline: the ideal (tasks / slots × 1 s)"},
        {"name": f"makespan, {tasks_n} × 1 s tasks, local executor, 12 workers",
         "value": round(local_span, 2), "unit": "s", "baseline": round(ideal, 2),
         "ratio": round(local_span / ideal, 2),
         "note": "the same tasks on this machine alone: what its cores allow without a "
                 "cluster; baseline: the ideal"},
    ]


def run(quick: bool | None = None) -> list[dict[str, Any]]:
    """The figures, measured inside a network namespace (see the module docstring)."""
    from tests.executors.cluster import netns_available, run_in_netns

    if quick is None:
        quick = os.environ.get("YUI_BENCH_QUICK") == "1"
    why = netns_available()
    if why is not None:
        raise RuntimeError(f"the Ray benchmark cannot run here: {why}")
    argv = [sys.executable, str(Path(__file__).resolve()), "--inside"]
    done = run_in_netns(argv + (["--quick"] if quick else []), timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the Ray benchmark failed:\n{done.stderr[-3000:]}")
    figures: list[dict[str, Any]] = json.loads(lines[-1])
    return figures


if __name__ == "__main__":
    if "--inside" in sys.argv:
        print(json.dumps(_inside("--quick" in sys.argv)))
    else:
        for figure in run():
            print(json.dumps(figure))
