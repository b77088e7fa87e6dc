"""`yui.plan`: Yui's planner from the editor, its model configured in the editor's settings
and played by the scripted model server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.real_cli import scripted_server
from tests.server.conftest import EditorFactory
from tests.server.test_commands import error_of

API = {"id": "api", "title": "users api", "agent": "kiro", "prompt": "Add /users",
       "claims": ["api/**"], "depends_on": []}
TESTS = {"id": "api-tests", "title": "users tests", "agent": "yui", "prompt": "Test /users",
         "claims": ["tests/**"], "depends_on": ["api"]}


def _model(port: int) -> dict[str, Any]:
    # initializationOptions: any setting; `yui` is the model of Yui's worker and planner.
    return {"yui": {"model": "gpt-test", "baseUrl": f"http://127.0.0.1:{port}/v1",
                    "maxRetries": 0}}


async def test_plan_returns_a_plan_submit_plan_accepts(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    with scripted_server(tmp_path / "model", {"plan": {"tasks": [API, TESTS]}}) as (port, _):
        editor = await open_editor(_model(port))
        answer = await editor.run("yui.plan", {"prompt": "Add a users API",
                                               "agents": ["kiro", "yui"], "maxWorkers": 2})
    plan = answer["plan"]
    assert plan["maxWorkers"] == 2
    assert [(t["id"], t["agent"], t["claims"], t["depends_on"]) for t in plan["tasks"]] == [
        ("api", "kiro", ["api/**"], []), ("api-tests", "yui", ["tests/**"], ["api"]),
    ]
    assert (await editor.run("yui.listTasks"))["total"] == 0  # nothing ran


async def test_an_unsound_plan_is_refused_with_the_reason(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    cyclic = [{**API, "depends_on": ["api-tests"]}, TESTS]
    with scripted_server(tmp_path / "model", {"plan": {"tasks": cyclic}}) as (port, _):
        editor = await open_editor(_model(port))
        message = await error_of(editor, "yui.plan", {"prompt": "x", "agents": ["kiro", "yui"]})
    assert "dependency cycle: api -> api-tests -> api" in message


async def test_list_agents_says_whether_yui_has_a_model(
        open_editor: EditorFactory, tmp_path: Path) -> None:
    bare = await open_editor()
    agents = {a["name"]: a for a in (await bare.run("yui.listAgents"))["agents"]}
    assert agents["yui"]["available"] is False
    assert "no model configured" in agents["yui"]["reason"]
    configured = await open_editor(_model(1))
    agents = {a["name"]: a for a in (await configured.run("yui.listAgents"))["agents"]}
    assert agents["yui"]["available"] is True
    assert "model gpt-test" in agents["yui"]["description"]
