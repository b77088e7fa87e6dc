"""`yui run PLAN`: tasks really run, in parallel, with dependencies, and the exit code tells."""

from __future__ import annotations

import json
import time
from pathlib import Path

from yui_lsp.protocol import TaskStatus, TaskUpdate, parse_message

from .conftest import Yui, shell_task, write_plan


def _writer(name: str, text: str, delay: float = 0.0) -> str:
    return (
        f"import pathlib, time; time.sleep({delay}); p = pathlib.Path('out/{name}'); "
        f"p.parent.mkdir(exist_ok=True); p.write_text('{text}')"
    )


def _sleepers(count: int, seconds: float) -> str:
    return "".join(
        shell_task(f"t{i}", _writer(f"t{i}.txt", f"t{i}", seconds), [f"out/t{i}.txt"])
        for i in range(count)
    )


def test_plan_runs_tasks_and_their_dependents(repo: Path, yui: Yui) -> None:
    code_c = (
        "import pathlib; a = pathlib.Path('out/a.txt').read_text(); "
        "b = pathlib.Path('out/b.txt').read_text(); pathlib.Path('out/c.txt').write_text(a + b)"
    )
    write_plan(
        repo,
        "max_workers = 2\n\n"
        + shell_task("a", _writer("a.txt", "A"), ["out/a.txt"])
        + shell_task("b", _writer("b.txt", "B"), ["out/b.txt"])
        + shell_task("c", code_c, ["out/c.txt"], ["a", "b"]),
    )
    done = yui("run", "plan.toml")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "out" / "c.txt").read_text() == "AB"  # c saw both results
    assert "3 completed" in done.stdout
    assert "Traceback" not in done.stderr


def test_parallel_is_faster_than_no_parallel_with_the_same_result(repo: Path, yui: Yui) -> None:
    write_plan(repo, "max_workers = 4\n\n" + _sleepers(4, 1.0))
    started = time.monotonic()
    parallel = yui("run", "plan.toml")
    parallel_s = time.monotonic() - started
    assert parallel.code == 0, parallel.stdout + parallel.stderr
    first = {p.name: p.read_text() for p in (repo / "out").iterdir()}

    for path in (repo / "out").iterdir():
        path.unlink()
    started = time.monotonic()
    sequential = yui("run", "plan.toml", "--no-parallel")
    sequential_s = time.monotonic() - started
    assert sequential.code == 0, sequential.stdout + sequential.stderr
    assert {p.name: p.read_text() for p in (repo / "out").iterdir()} == first
    assert len(first) == 4
    # Four 1-second tasks: about 4 s one at a time, about 1 s side by side.
    assert sequential_s - parallel_s > 1.5, (parallel_s, sequential_s)


def test_json_output_is_protocol_messages_only(repo: Path, yui: Yui) -> None:
    write_plan(repo, _sleepers(2, 0.0))
    done = yui("run", "plan.toml", "--json")
    assert done.code == 0, done.stderr
    messages = [parse_message(line) for line in done.stdout.splitlines()]
    updates = [m for m in messages if isinstance(m, TaskUpdate)]
    finals = {m.task_id: m.status for m in updates if m.status.terminal}
    assert finals == {"t0": TaskStatus.COMPLETED, "t1": TaskStatus.COMPLETED}
    # The seed's message shape, snake_case.
    raw = json.loads(done.stdout.splitlines()[0])
    assert {"type", "agent_id", "task_id", "status", "progress", "files_modified",
            "timestamp"} <= raw.keys()
    completed = [m for m in updates if m.status == TaskStatus.COMPLETED]
    assert all(m.files_modified for m in completed)


def test_a_failure_fails_the_run_but_not_independent_tasks(repo: Path, yui: Yui) -> None:
    write_plan(
        repo,
        shell_task("bad", "import sys; sys.exit(3)", ["out/bad.txt"])
        + shell_task("after-bad", _writer("x.txt", "x"), ["out/x.txt"], ["bad"])
        + shell_task("good", _writer("good.txt", "ok"), ["out/good.txt"]),
    )
    done = yui("run", "plan.toml", "--json")
    assert done.code == 1
    finals = {
        m.task_id: m.status
        for m in map(parse_message, done.stdout.splitlines())
        if isinstance(m, TaskUpdate) and m.status.terminal
    }
    assert finals == {
        "bad": TaskStatus.FAILED, "after-bad": TaskStatus.FAILED, "good": TaskStatus.COMPLETED,
    }
    assert (repo / "out" / "good.txt").read_text() == "ok"
    assert not (repo / "out" / "x.txt").exists()


def test_dry_run_shows_waves_and_runs_nothing(repo: Path, yui: Yui) -> None:
    write_plan(
        repo,
        shell_task("a", _writer("a.txt", "A"), ["out/a.txt"])
        + shell_task("b", _writer("b.txt", "B"), ["out/b.txt"])
        + shell_task("c", _writer("c.txt", "C"), ["out/c.txt"], ["a", "b"]),
    )
    done = yui("run", "plan.toml", "--dry-run")
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "3 tasks in 2 waves" in lines[0]
    wave2 = lines.index("wave 2:")
    assert any(line.strip().startswith("c [shell]") and "after a, b" in line
               for line in lines[wave2:])
    assert not (repo / "out").exists()

    as_json = yui("run", "plan.toml", "--dry-run", "--json")
    assert json.loads(as_json.stdout)["waves"] == [["a", "b"], ["c"]]


def test_dry_run_shows_which_tasks_of_a_wave_wait_for_overlapping_claims(
        repo: Path, yui: Yui) -> None:
    write_plan(repo, shell_task("a", _writer("a.txt", "A"), ["out/**"])
               + shell_task("b", _writer("b.txt", "B"), ["out/b.txt"]))
    done = yui("run", "plan.toml", "--dry-run")
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "2 tasks in 1 wave (" in lines[0], lines[0]
    assert any(line.strip().startswith("b [shell]") and "waits for a (claims overlap)" in line
               for line in lines)
    as_json = json.loads(yui("run", "plan.toml", "--dry-run", "--json").stdout)
    assert as_json["claim_waits"] == {"b": ["a"]}


def test_max_workers_one_on_the_command_line_wins_over_the_plan(repo: Path, yui: Yui) -> None:
    write_plan(repo, "max_workers = 8\n\n" + _sleepers(3, 0.7))
    started = time.monotonic()
    done = yui("run", "plan.toml", "--max-workers", "1")
    assert done.code == 0, done.stdout + done.stderr
    assert time.monotonic() - started > 2.1
