"""Spec figures: a 20-task Kiro spec of 0.5 s tasks run by `yui spec run`'s code path
(parse, infer dependencies and claims, submit, tick every box), at three levels of
independence. Each makespan is compared with the critical-path bound for the workers given
(each wave takes ceil(tasks / workers) rounds of 0.5 s), with the same spec run one task at
a time (`--no-parallel`), and once with the same tasks as a plain plan without the ticks, all
measured in the same run.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import anyio
from bench_coordinator import _figure, _repo

from yui_lsp.coordinator import ParallelTaskManager
from yui_lsp.protocol import TaskStatus
from yui_lsp.specs import build_plan, load_spec

Figure = dict[str, Any]


def _shape(level: str, count: int) -> list[int]:
    """Tasks per wave: all independent, three levels, or a long chain of pairs."""
    if level == "independent":
        return [count]
    if level == "three levels":
        first = count // 2
        second = (count - first) * 3 // 5
        return [first, second, count - first - second]
    return [2] * (count // 2)


def spec_text(waves: list[int]) -> str:
    """A Kiro tasks.md whose tasks each name their own file and depend on the wave before."""
    lines, previous, number = ["# Implementation Plan", ""], [], 0
    for size in waves:
        current = []
        for _ in range(size):
            number += 1
            lines.append(f"- [ ] {number}. Build module {number} in `src/m{number}.py`")
            if previous:
                lines.append(f"  _Depends: {', '.join(previous)}_")
            current.append(str(number))
        previous = current
    return "\n".join(lines) + "\n"


async def _run_spec(root: Path, settings: Any, workers: int, sequential: bool,
                    seconds: float, ticks: bool) -> float:
    spec = load_spec(root, "bench")
    plan = build_plan(root, spec, agent="shell").plan
    # The built-in shell worker stands in for the agent, as in bench_coordinator's makespans.
    plan.tasks = [t.model_copy(update={"command": ["sleep", str(seconds)],
                                       "extra_edits": t.extra_edits if ticks else []})
                  for t in plan.tasks]
    async with ParallelTaskManager(root, settings=settings, max_workers=workers,
                                   sequential=sequential) as manager:
        started = time.perf_counter()
        await manager.submit_plan(plan)
        results = await manager.wait_for_completion()
        elapsed = time.perf_counter() - started
    bad = [r for r in results if r.status != TaskStatus.COMPLETED]
    if bad:
        raise RuntimeError(f"{len(bad)} spec tasks did not complete: {bad[0].error}")
    ticked = (root / ".kiro" / "specs" / "bench" / "tasks.md").read_text().count("- [x]")
    if ticked != (len(plan.tasks) if ticks else 0):
        raise RuntimeError(f"{ticked} boxes ticked of {len(plan.tasks)}")
    return elapsed


def _makespan(waves: list[int], seconds: float, workers: int, sequential: bool,
              ticks: bool = True) -> float:
    files = {".kiro/specs/bench/tasks.md": spec_text(waves)}
    with _repo(files) as (root, settings):
        # The CPU and memory gates would hold tasks back on a busy machine: what is measured
        # here is the spec's scheduling, not the machine's load.
        settings = settings.model_copy(update={"max_cpu_percent": 100.0,
                                               "min_free_memory_mb": 0.0})
        return anyio.run(_run_spec, root, settings, workers, sequential, seconds, ticks)


def run(quick: bool = False) -> list[Figure]:
    quick = quick or os.environ.get("YUI_BENCH_QUICK") == "1"
    count, seconds, workers = (8, 0.2, 4) if quick else (20, 0.5, 8)
    figures: list[Figure] = []
    for level in ("independent", "three levels", "chain of pairs"):
        waves = _shape(level, count)
        bound = sum(math.ceil(size / workers) for size in waves) * seconds
        parallel = _makespan(waves, seconds, workers, sequential=False)
        sequential = _makespan(waves, seconds, workers, sequential=True)
        shape = " → ".join(str(w) for w in waves) if len(waves) <= 4 else \
            f"{len(waves)} waves of 2"
        figures.append(_figure(
            f"spec of {count} × {seconds} s tasks, {level} ({shape}), {workers} workers",
            parallel, "s", bound,
            f"baseline = critical-path bound {bound:g} s (each wave ceil(n/{workers}) "
            f"rounds); every box ticked"))
        figures.append(_figure(
            f"same spec, {level}, one task at a time", sequential, "s", parallel,
            f"ratio = speedup of the parallel run: {sequential / parallel:.1f}×"))
        if level == "three levels":
            plain = _makespan(waves, seconds, workers, sequential=False, ticks=False)
            figures.append(_figure(
                f"same spec, {level}, without the checkbox ticks", parallel, "s", plain,
                "value = with ticks; baseline = the same tasks as a plain plan (no tasks.md "
                "edits); ratio = what landing the ticks costs"))
    return figures
