"""Agent figures: three real Codex runs in parallel against the same three one at a time.

The real Codex CLI (``npm ci --prefix tests/agents``) talks to the scripted model server of
tests/fixtures/ on 127.0.0.1, which waits a fixed delay before every answer (a model's think
time). Each run is a full adapter run — process group, streamed JSON events, a real
``apply_patch`` edit in its own sandbox — so the ratio shows how well runs overlap when the
model is the bottleneck. Without Codex installed the figures are reported as not measured.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

SOURCE_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SOURCE_ROOT))

from tests.fixtures.real_cli import (  # noqa: E402
    CODEX,
    INSTALL_HINT,
    codex_env,
    codex_patch,
    scripted_server,
)
from yui_lsp.agents.base import AgentRun  # noqa: E402
from yui_lsp.agents.codex import CodexAdapter  # noqa: E402
from yui_lsp.config import AgentProfile  # noqa: E402
from yui_lsp.protocol import Message, Task  # noqa: E402

Figure = dict[str, Any]
RUNS = 3


def _runs(root: Path, port: int) -> list[AgentRun]:
    profile = AgentProfile(kind="codex", command=[str(CODEX)], timeout_s=120)
    runs = []
    for n in range(RUNS):
        sandbox = root / f"sandbox-{n}"
        sandbox.mkdir(parents=True)
        (sandbox / "a.py").write_text("x = 1\n")

        def drop(_message: Message) -> None:
            pass

        runs.append(AgentRun(
            task=Task(id=f"bench-{n}", prompt="Set x to 2 in a.py", agent="codex"),
            workdir=sandbox, profile=profile, agent_id=f"codex_worker_{n}", emit=drop,
            env=codex_env(root / f"codex-home-{n}", port),
        ))
    return runs


def _check(runs: list[AgentRun]) -> None:
    for run in runs:
        if (run.workdir / "a.py").read_text() != "x = 2\n":
            raise RuntimeError(f"Codex did not edit {run.workdir}/a.py")


async def _sequential(runs: list[AgentRun]) -> float:
    started = time.perf_counter()
    for run in runs:
        await CodexAdapter().run(run)
    return time.perf_counter() - started


async def _parallel(runs: list[AgentRun]) -> float:
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for run in runs:
            group.start_soon(CodexAdapter().run, run)
    return time.perf_counter() - started


def run(quick: bool = False) -> list[Figure]:
    """Makespan of 3 Codex runs in parallel vs one at a time, and their speedup."""
    quick = quick or os.environ.get("YUI_BENCH_QUICK") == "1"
    delay = 0.3 if quick else 1.0
    name = f"{RUNS} real Codex runs in parallel vs one at a time ({delay:g} s per model turn)"
    if not CODEX.exists():
        return [{"name": name, "value": float("nan"), "unit": "s", "baseline": None,
                 "ratio": None, "note": f"not measured: Codex CLI missing ({INSTALL_HINT})"}]
    script = {"codex": [codex_patch("a.py", "x = 1", "x = 2")], "final": "Done"}
    with tempfile.TemporaryDirectory(prefix="yui-bench-agents-") as tmp:
        root = Path(tmp)
        with scripted_server(root / "server", script, delay=delay) as (port, _log):
            seq_runs = _runs(root / "seq", port)
            sequential = anyio.run(_sequential, seq_runs)
            _check(seq_runs)
            par_runs = _runs(root / "par", port)
            parallel = anyio.run(_parallel, par_runs)
            _check(par_runs)
    turns = 2  # one tool call, one final answer
    floor = turns * delay
    return [
        {"name": name, "value": round(parallel, 3), "unit": "s",
         "baseline": round(sequential, 3), "ratio": round(sequential / parallel, 2),
         "note": f"makespan; baseline = the same {RUNS} runs one at a time; "
                 f"ratio = speedup (ideal {RUNS}x)"},
        {"name": "one Codex run, end to end", "value": round(sequential / RUNS, 3),
         "unit": "s", "baseline": round(floor, 3),
         "ratio": round((sequential / RUNS) / floor, 2),
         "note": "baseline = the scripted model's think time per run; the rest is CLI "
                 "start-up, the sandboxed apply_patch and adapter overhead"},
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure)
