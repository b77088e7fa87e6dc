"""Tasks see the workspace as the editor holds it; logs; the review workflow's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcInvalidParams

from tests.server.conftest import EditorFactory
from tests.server.editor import python_command

APPEND = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"


async def test_a_task_sees_unsaved_text_and_earlier_unsaved_results(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor({"saveAfterApply": "never"})
    editor.open("src/a.py")
    editor.type("src/a.py", "x = 1\ny = 2\nz = 3\ntyped = 0\n")  # unsaved
    first = await editor.run("yui.submitTask", {
        "title": "append", "agent": "shell", "claims": ["src/a.py"],
        "command": [*python_command(APPEND), "src/a.py", "from_a = 1"]})
    assert (await editor.finished(first["taskId"]))["status"] == "completed"
    assert editor.text("src/a.py") == "x = 1\ny = 2\nz = 3\ntyped = 0\nfrom_a = 1\n"
    assert (repo / "src" / "a.py").read_text() == "x = 1\ny = 2\nz = 3\n"  # never saved
    second = await editor.run("yui.submitTask", {
        "title": "Show a.py", "agent": "shell", "command": ["cat", "src/a.py"]})
    update = await editor.finished(second["taskId"])
    assert (update["status"], update["outcome"], update["message"]) == \
        ("completed", "no_changes", "no changes")
    log = await editor.run("yui.taskLog", {"taskId": second["taskId"]})
    printed = [line["line"] for line in log["lines"] if line["stream"] == "stdout"]
    assert printed == ["x = 1", "y = 2", "z = 3", "typed = 0", "from_a = 1"]
    assert log["title"] == "Show a.py" and log["done"] is True
    # The buffer was the merge base too: the second task changed nothing, nothing moved.
    assert editor.text("src/a.py").endswith("from_a = 1\n")


async def test_no_changes_comes_with_the_commands_own_complaint(
        open_editor: EditorFactory) -> None:
    editor = await open_editor()
    # Like a command line split wrongly: it complains on stderr and changes nothing.
    code = "import sys; print('no such file: x.txt', file=sys.stderr)"
    answer = await editor.run("yui.submitTask", {
        "title": "Split wrongly", "agent": "shell", "command": python_command(code)})
    update = await editor.finished(answer["taskId"])
    assert (update["status"], update["outcome"]) == ("completed", "no_changes")
    assert update["agent_errors"] == ["no such file: x.txt"]


async def test_parse_command_splits_like_a_shell(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    answer = await editor.run("yui.parseCommand", {"commandLine": 'sh -c "echo \\"x\\" >> f"'})
    assert answer["argv"] == ["sh", "-c", 'echo "x" >> f']
    assert answer["display"] == "sh -c 'echo \"x\" >> f'"


async def test_a_task_run_from_the_cli_is_followed_to_its_end(
        open_editor: EditorFactory, repo: Path, tmp_path: Path) -> None:
    editor = await open_editor()
    await editor.run("yui.listTasks")  # the server hosts the folder now
    plan = tmp_path / "plan.toml"
    plan.write_text('[[task]]\nid = "cli-readme"\nagent = "shell"\n'
                    'command = ["sh", "-c", "echo from cli >> src/b.py"]\n'
                    'claims = ["src/b.py"]\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "CI": "true"}
    done = subprocess.run([str(Path(sys.executable).parent / "yui"), "run", str(plan)],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    update = await editor.finished("cli-readme")
    assert update["status"] == "completed"
    assert update["coordinator_id"]
    statuses = [u["status"] for u in editor.updates("cli-readme")]
    assert "running" in statuses


async def test_a_log_is_asked_for_by_task_id_only(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    with pytest.raises(JsonRpcInvalidParams, match="no task with id"):
        await editor.run("yui.taskLog", {"taskId": "../../etc/passwd"})
