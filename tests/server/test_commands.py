"""The commands: answers at once, validated arguments, errors that leave the server serving."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.server.conftest import EditorFactory
from tests.server.editor import Editor, python_command
from yui_lsp.config import Settings
from yui_lsp.coordinator import ParallelTaskManager
from yui_lsp.protocol import RefactorSpec, Task

SLEEP = python_command("import time; time.sleep(30)")


async def error_of(editor: Editor, command: str, argument: Any) -> str:
    with pytest.raises(JsonRpcException) as caught:
        await editor.run(command, argument)
    return str(caught.value)


async def test_hostile_arguments_are_refused_and_the_server_keeps_serving(
        open_editor: EditorFactory, repo: Path, tmp_path: Path) -> None:
    editor = await open_editor()
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "escape").symlink_to(outside)
    base = {"title": "t", "agent": "yui", "command": SLEEP}

    assert "not defined" in await error_of(editor, "yui.noSuchCommand", {})
    assert "claims" in await error_of(editor, "yui.submitTask", {**base, "claims": 5})
    assert "title" in await error_of(editor, "yui.submitTask", {**base, "title": ["x"]})
    assert "escapes" in await error_of(editor, "yui.submitTask", {**base, "claims": ["../x"]})
    assert "relative" in await error_of(editor, "yui.submitTask",
                                        {**base, "claims": ["/etc/passwd"]})
    assert "outside" in await error_of(editor, "yui.submitTask",
                                       {**base, "claims": ["escape/secret.txt"]})
    assert "outside" in await error_of(editor, "yui.submitTask",  # one brace alternative
                                       {**base, "claims": ["{ok,escape}/secret.txt"]})
    assert "outside" in await error_of(editor, "yui.submitPlan", {"tasks": [
        {**base, "id": "fine", "claims": ["ok.txt"]},
        {**base, "id": "bad", "files": ["escape/secret.txt"]}]})
    assert "outside" in await error_of(editor, "yui.refactor", {
        "pattern": "a", "replacement": "b", "files": ["escape/**"]})
    assert "expected one JSON object" in await error_of(editor, "yui.listTasks", "tasks")
    assert "taskId" in await error_of(editor, "yui.cancelTask", {})
    assert "unknownField" in await error_of(editor, "yui.submitTask",
                                            {**base, "unknownField": 1})
    assert "no task with id" in await error_of(editor, "yui.cancelTask", {"taskId": "nope"})
    assert "unknown agent" in await error_of(editor, "yui.submitTask",
                                             {**base, "agent": "no-such-agent"})

    listed = await editor.run("yui.listTasks")
    assert listed == {"tasks": [], "total": 0}, "nothing was queued and the server still answers"
    assert not (outside / "secret.txt").exists()


async def test_submission_answers_before_the_agent_starts(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    started = time.perf_counter()
    answer = await editor.run("yui.submitTask", {"title": "long", "agent": "yui",
                                                 "command": SLEEP, "claims": ["src/a.py"]})
    assert time.perf_counter() - started < 2.0
    listed = await editor.run("yui.listTasks")
    (info,) = listed["tasks"]
    assert info["task"]["id"] == answer["taskId"]
    assert info["task"]["claims"] == ["src/a.py"]
    assert info["status"] in {"pending", "queued", "acquiring", "running"}

    cancelled = await editor.run("yui.cancelTask", {"taskId": answer["taskId"]})
    assert cancelled["ok"] is True
    assert (await editor.finished(answer["taskId"]))["status"] == "cancelled"
    again = await editor.run("yui.cancelTask", {"taskId": answer["taskId"]})
    assert again["ok"] is False


async def test_plan_with_a_cycle_is_refused_whole(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    task = {"agent": "yui", "command": SLEEP}
    message = await error_of(editor, "yui.submitPlan", {"tasks": [
        {**task, "id": "a", "dependsOn": ["b"]}, {**task, "id": "b", "dependsOn": ["a"]}]})
    assert "cycle" in message and "a" in message
    assert (await editor.run("yui.listTasks")) == {"tasks": [], "total": 0}


async def test_plan_runs_in_dependency_order(open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    append = ("import pathlib, sys; p = pathlib.Path('src/b.py'); "
              "p.write_text(p.read_text() + sys.argv[1] + '\\n')")
    answer = await editor.run("yui.submitPlan", {"maxWorkers": 2, "tasks": [
        {"id": "first", "agent": "yui", "claims": ["src/b.py"],
         "command": [*python_command(append), "first = 1"]},
        {"id": "second", "agent": "yui", "claims": ["src/b.py"], "dependsOn": ["first"],
         "command": [*python_command(append), "second = 2"]},
    ]})
    assert answer == {"taskIds": ["first", "second"]}
    assert (await editor.finished("second"))["status"] == "completed"
    assert (repo / "src" / "b.py").read_text() == "b = 1\nfirst = 1\nsecond = 2\n"


async def test_refactor_command_runs_a_small_refactor_as_one_task(
        open_editor: EditorFactory, repo: Path) -> None:
    """A task per 500 files (coordinator/components.py): six files are one task, landed whole;
    the split of larger refactors is tested in tests/cli/test_refactor_develop.py."""
    editor = await open_editor()
    for index in range(6):
        (repo / "src" / f"m{index}.py").write_text(f"old_name = {index}\n")
    answer = await editor.run("yui.refactor", {"pattern": "old_name", "replacement": "new_name",
                                               "files": ["src/m*.py"], "maxWorkers": 2})
    assert len(answer["taskIds"]) == 1
    for task_id in answer["taskIds"]:
        assert (await editor.finished(task_id))["status"] == "completed"
    assert all((repo / "src" / f"m{i}.py").read_text() == f"new_name = {i}\n" for i in range(6))


async def test_list_agents_says_what_each_takes_and_why_it_cannot_run(
        open_editor: EditorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-claude"
    monkeypatch.setenv("YUI_CLAUDE_CLI", str(missing))
    editor = await open_editor({"agents": {"mine": {"kind": "command",
                                                    "command": [str(missing)]}}})
    answer = await editor.run("yui.listAgents")
    agents = {a["name"]: a for a in answer["agents"]}
    assert {"kiro", "claude", "shell", "refactor", "yui", "mine"} <= set(agents)
    assert agents["shell"]["takes"] == "command" and agents["shell"]["available"] is True
    assert agents["refactor"]["takes"] == "refactor"
    assert agents["claude"]["takes"] == "prompt"
    assert agents["claude"]["available"] is False
    assert "YUI_CLAUDE_CLI" in agents["claude"]["reason"]
    assert agents["mine"]["available"] is False and "no-such-claude" in agents["mine"]["reason"]
    assert "reason" not in agents["shell"] or agents["shell"]["reason"] is None


async def test_list_tasks_can_add_recent_history(
        open_editor: EditorFactory, repo: Path, tmp_path: Path) -> None:
    settings = Settings(sandbox_dir=str(tmp_path / "earlier"))
    async with ParallelTaskManager(repo, settings=settings) as earlier:
        future = await earlier.submit_task(Task(id="earlier", refactor=RefactorSpec(
            pattern="b = 1", replacement="b = 2", files=["src/b.py"])), "refactor")
        assert (await future.result(timeout=60)).status.value == "completed"

    editor = await open_editor()
    assert (await editor.run("yui.listTasks"))["tasks"] == [], "no live task"
    listed = await editor.run("yui.listTasks", {"history": 5})
    assert [(t["task"]["id"], t["status"]) for t in listed["tasks"]] == [("earlier", "completed")]
