"""The server keeps answering while the file system is busy: another process holds 5,000
leases and eight tasks integrate, and `yui.listTasks` / `yui.submitTask` still answer
(lease files, the task history and the domain registry are read in worker threads, and
messages to the editor are written by a writer thread). The figures are the benchmark's
(benchmarks/bench_responsiveness.py), in its quick form."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_responsiveness.py"
#: Far above the aim in docs/benchmarks.md (p99 < 20 ms on a quiet machine), because CI
#: machines are shared; a loop blocked on lease files misses them all the same (with the old
#: code, reading 5,000 leases on the loop cost 38 ms a time, 1.4 s per 20 files).
MEDIAN_BUDGET_MS, WORST_BUDGET_MS = 250.0, 5000.0


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_responsiveness", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.is_file(), reason="benchmarks/ is not part of this install")
def test_list_and_submit_answer_while_leases_are_held_and_tasks_integrate(
        tmp_path: Path) -> None:
    bench = _bench()
    times = asyncio.run(bench.measure(tmp_path, leases=5000, rounds=1, calls=20))
    for key in ("busy_list", "busy_submit"):
        assert bench.percentile(times[key], 0.5) < MEDIAN_BUDGET_MS, (key, sorted(times[key]))
        assert max(times[key]) < WORST_BUDGET_MS, (key, sorted(times[key])[-5:])
