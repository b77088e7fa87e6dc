"""The history outlives a run: `yui status` lists ended tasks, `yui retry` and `yui undo`
work on tasks of earlier runs, and a second run never reuses an id."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.conftest import Yui


def _ids(stdout: str) -> list[str]:
    return sorted({json.loads(line)["task_id"] for line in stdout.splitlines()
                   if '"task_update"' in line})


def test_refactor_twice_never_reuses_an_id_and_the_first_run_can_be_undone(
        repo: Path, yui: Yui) -> None:
    first = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
                "--files", "src/a.py", "--json")
    second = yui("refactor", "--pattern", "old_name", "--replacement", "other_name",
                 "--files", "src/b.py", "--json")
    assert first.code == 0 and second.code == 0, first.stderr + second.stderr
    assert _ids(first.stdout) == ["refactor-1"]
    assert _ids(second.stdout) == ["refactor-1-r2"]

    undone = yui("undo", "refactor-1")
    assert undone.code == 0, undone.stdout + undone.stderr
    assert "reverted src/a.py" in undone.stdout
    assert (repo / "src" / "a.py").read_text() == "from old_name import thing  # a\n"
    assert (repo / "src" / "b.py").read_text() == "from other_name import thing  # b\n"

    status = yui("status")
    assert "refactor-1-r2" in status.stdout and "completed" in status.stdout, status.stdout
    assert "no tasks" not in status.stdout


def test_retry_runs_a_failed_task_of_an_earlier_run_again(repo: Path, yui: Yui) -> None:
    check = ("import pathlib, sys\n"
             "text = pathlib.Path('src/a.py').read_text()\n"
             "if 'ready' not in text: sys.exit('src/a.py is not ready')\n"
             "pathlib.Path('out').mkdir(exist_ok=True)\n"
             "pathlib.Path('out/done.txt').write_text('done')\n")
    (repo / "plan.toml").write_text(
        f'[[task]]\nid = "check"\nagent = "shell"\nmax_retries = 0\nclaims = ["out/**"]\n'
        f'command = [{json.dumps(sys.executable)}, "-c", {json.dumps(check)}]\n')
    failed = yui("run", "plan.toml")
    assert failed.code == 1
    listed = [json.loads(line) for line in yui("status", "--json").stdout.splitlines()]
    assert [(r["type"], r["task"]["id"], r["status"]) for r in listed] == [
        ("task_info", "check", "failed")]
    assert "not ready" in yui("logs", "check").stdout

    (repo / "src" / "a.py").write_text("ready = True\n")  # what the task needed
    retried = yui("retry", "check")
    assert retried.code == 0, retried.stdout + retried.stderr
    assert "earlier run" in retried.stdout
    assert (repo / "out" / "done.txt").read_text() == "done"
    everything = yui("status", "--all", "--json").stdout
    states = {json.loads(line)["task"]["id"]: json.loads(line)["status"]
              for line in everything.splitlines()}
    assert states == {"check": "failed", "check-r2": "completed"}


def test_status_since_filters_and_rejects_nonsense(repo: Path, yui: Yui) -> None:
    assert yui("status").stdout.startswith("no tasks")
    bad = yui("status", "--since", "yesterdayish")
    assert bad.code == 2 and "--since" in bad.stderr
    assert yui("status", "--since", "2h").code == 0


def test_a_damaged_history_is_said_kept_aside_and_the_next_run_starts_a_new_one(
        repo: Path, yui: Yui) -> None:
    first = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
                "--files", "src/a.py", "--json")
    assert first.code == 0, first.stderr
    history = repo / ".yui" / "history.sqlite3"
    for leftover in (".yui/history.sqlite3-wal", ".yui/history.sqlite3-shm"):
        (repo / leftover).unlink(missing_ok=True)  # as a file copied on its own would be
    damaged = b"not a database, whatever wrote it " * 200
    history.write_bytes(damaged)

    status = yui("status")
    assert status.code == 0
    assert "history.sqlite3 cannot be read" in status.stderr, status.stderr
    assert "internal error" not in status.stdout + status.stderr

    second = yui("refactor", "--pattern", "old_name", "--replacement", "other_name",
                 "--files", "src/b.py", "--json")
    assert second.code == 0, second.stdout + second.stderr
    # The first run's backup still holds `refactor-1`: a new history does not hand it out.
    assert _ids(second.stdout) == ["refactor-1-r2"]
    kept = list((repo / ".yui").glob("history.sqlite3.damaged-*"))
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [damaged]
    assert "cannot be read" in (repo / ".yui" / "logs" / "yui.log").read_text()
    assert "refactor-1-r2" in yui("status").stdout
    assert yui("undo", "refactor-1").code == 0, "the first run can still be undone"
    assert (repo / "src" / "a.py").read_text() == "from old_name import thing  # a\n"
