"""`yui demo` on the bundled example, and the commands that look at past and present work."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Yui, shell_task, write_plan


def test_demo_runs_the_example_plan(tmp_path: Path, yui: Yui) -> None:
    target = tmp_path / "demo"
    done = yui("demo", "--into", str(target), cwd=tmp_path, timeout=120)
    assert done.code == 0, done.stdout + done.stderr
    assert f"the result is in {target}" in done.stdout
    assert "6 completed" in done.stdout
    # The renames happened, and the generators that ran after them saw the new names.
    assert "fetch_user" in (target / "app" / "users.py").read_text()
    assert "fetchUser" in (target / "web" / "profile.ts").read_text()
    assert "`fetch_user(user_id)`" in (target / "docs" / "guide.md").read_text()
    assert "fetch_user(user_id: int)" in (target / "docs" / "api.md").read_text()
    assert '"GET /users/{user_id}": "fetchUser"' in (
        target / "web" / "routes.generated.ts"
    ).read_text()
    assert "app/orders.py" in (target / "reports" / "todo.md").read_text()


def test_demo_refuses_a_folder_with_files(tmp_path: Path, yui: Yui) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    done = yui("demo", "--into", str(tmp_path / "busy"), cwd=tmp_path)
    assert done.code == 2
    assert "not an empty folder" in done.stderr
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_logs_show_a_tasks_output(repo: Path, yui: Yui) -> None:
    write_plan(repo, shell_task("talk", "print('hello from the task')", ["out/**"]))
    assert yui("run", "plan.toml").code == 0
    done = yui("logs", "talk")
    assert done.code == 0, done.stderr
    assert "hello from the task" in done.stdout
    missing = yui("logs", "nobody")
    assert missing.code == 2 and "no log" in missing.stderr
    assert yui("logs", "../../etc/passwd").code == 2


def test_undo_reverts_a_refactor(repo: Path, yui: Yui) -> None:
    original = (repo / "src" / "a.py").read_text()
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "src/a.py", "--json")
    assert done.code == 0, done.stderr
    task_id = json.loads(done.stdout.splitlines()[0])["task_id"]
    assert "new_name" in (repo / "src" / "a.py").read_text()
    undone = yui("undo", task_id)
    assert undone.code == 0, undone.stdout + undone.stderr
    assert "reverted src/a.py" in undone.stdout
    assert (repo / "src" / "a.py").read_text() == original


def test_locks_and_recover_on_a_quiet_repository(repo: Path, yui: Yui) -> None:
    locks = yui("locks")
    assert locks.code == 0, locks.stderr
    assert locks.stdout.strip() == "no leases held"
    assert yui("locks", "--json").stdout == ""
    recovered = yui("recover")
    assert recovered.code == 0, recovered.stderr
    assert "nothing to recover" in recovered.stdout


def test_commands_outside_a_folder_fail_clearly(tmp_path: Path, yui: Yui) -> None:
    done = yui("status", "--root", str(tmp_path / "missing"), cwd=tmp_path)
    assert done.code == 2
    assert "is not a folder" in done.stderr
