"""The hostile agents of cases 1, 2 and 5, run by the language server (the coordinator an
editor hosts) instead of `yui run`: same guarantees, and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

from tests.security.conftest import program, ran, settings_file, user_state
from tests.security.test_git_config import HOOKS, HOSTILE_CONFIG, PROGRAM_KEYS
from tests.security.test_processes import (
    LEAVER,
    LOOP,
    UNCONFINED_SHAPES,
    alive,
    kill_escapees,
)
from tests.server.editor import python_command, start_editor


async def test_the_server_runs_nothing_an_agent_configured_and_ends_what_it_left(
    repo: Path, tmp_path: Path, marks: Path
) -> None:
    import json

    settings_file(repo, "auto")
    programs = json.dumps({
        "keys": {key: program(marks, key.replace(".", "-")) for key in PROGRAM_KEYS},
        "hooks": {hook: program(marks, f"hook-{hook}") for hook in HOOKS},
    })
    started = tmp_path / "started"
    started.mkdir()
    before = user_state(repo)
    editor = await start_editor(repo, tmp_path / "cache",
                                {"maxCpuPercent": 100, "minFreeMemoryMb": 0, "maxWorkers": 1})
    try:
        hostile = await editor.run("yui.submitTask", {
            "title": "configure", "agent": "yui", "claims": ["**"],
            "command": [*python_command(HOSTILE_CONFIG), programs]})
        leaver = await editor.run("yui.submitTask", {
            "title": "leaver", "agent": "yui", "claims": ["docs/**"],
            "command": [*python_command(LEAVER.replace("src/util.py", "docs/guide.md")),
                        LOOP, str(started), ",".join(UNCONFINED_SHAPES)]})
        for answer in (hostile, leaver):
            done = await editor.finished(answer["taskId"], timeout=120)
            assert done["status"] == "completed", done
        assert alive(started) == []
        listed = await editor.run("yui.listTasks", {})
        assert len(listed["tasks"]) == 2
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()  # type: ignore[no-untyped-call]
        kill_escapees(started)
    assert ran(marks, by="yui") == []
    after = user_state(repo)
    assert all(after[rel] == data for rel, data in before.items() if rel.startswith(".git/"))
    assert after["src/util.py"].endswith(b"# agent edit\n")
    assert after["docs/guide.md"].endswith(b"# agent edit\n")
    assert not [rel for rel in after if "injected" in rel]
