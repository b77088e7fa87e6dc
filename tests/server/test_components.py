"""`yui.develop` and `yui.multiLang` with the `yui` worker running each component's command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.server.conftest import EditorFactory
from tests.server.test_commands import error_of

#: Writes argv[2] into the file argv[1] (a component's whole work).
WRITE_FILE = """
import pathlib, sys
path = pathlib.Path(sys.argv[1])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(sys.argv[2] + '\\n')
"""

#: Writes to argv[1] which of the files argv[2:] it found when it ran.
INVENTORY = """
import pathlib, sys
found = [p for p in sys.argv[2:] if pathlib.Path(p).exists()]
path = pathlib.Path(sys.argv[1])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(' '.join(found) + '\\n')
"""


def component(paths: list[str], *argv: str) -> str:
    """A `[tool.yui.components.NAME]` table body running this Python with ``argv``."""
    command = [sys.executable, "-c", *argv]
    return f"paths = {json.dumps(paths)}\ncommand = {json.dumps(command)}\n"


def configure(repo: Path, components: dict[str, str]) -> None:
    tables = "".join(f"\n[tool.yui.components.{name}]\n{body}"
                     for name, body in components.items())
    (repo / "pyproject.toml").write_text(f'[project]\nname = "demo"\n{tables}')


async def test_develop_runs_each_component_and_tests_after_the_code(
        open_editor: EditorFactory, repo: Path) -> None:
    configure(repo, {
        "frontend": component(["web/**"], WRITE_FILE, "web/app.js", "render()"),
        "backend": component(["api/**"], WRITE_FILE, "api/app.py", "serve()"),
        "tests": component(["tests/**"], INVENTORY, "tests/found.txt",
                           "web/app.js", "api/app.py"),
    })
    editor = await open_editor({"maxCpuPercent": 100, "minFreeMemoryMb": 0})

    answer = await editor.run("yui.develop", {"frontend": "yui", "backend": "yui",
                                              "tests": "yui", "maxWorkers": 3})
    ids = answer["taskIds"]
    assert [task_id.split("-")[0] for task_id in ids] == ["frontend", "backend", "tests"]
    for task_id in ids:
        assert (await editor.finished(task_id))["status"] == "completed"

    assert (repo / "web" / "app.js").read_text() == "render()\n"
    assert (repo / "api" / "app.py").read_text() == "serve()\n"
    # The tests component waited for the code: both files were there when it ran.
    assert (repo / "tests" / "found.txt").read_text() == "web/app.js api/app.py\n"
    listed = await editor.run("yui.listTasks", {"verbose": True})
    claims = {info["task"]["id"].split("-")[0]: info["task"]["claims"]
              for info in listed["tasks"]}
    assert claims == {"frontend": ["web/**"], "backend": ["api/**"], "tests": ["tests/**"]}

    # Running it again makes new tasks (new ids), not a clash with the finished ones.
    again = await editor.run("yui.develop", {"frontend": "yui"})
    assert again["taskIds"][0] not in ids
    assert (await editor.finished(again["taskIds"][0]))["status"] == "completed"


async def test_multi_lang_runs_integration_tests_after_the_languages(
        open_editor: EditorFactory, repo: Path) -> None:
    configure(repo, {
        "python": component(["pkg/**"], WRITE_FILE, "pkg/core.py", "VERSION = 2"),
        "integration-tests": component(["integration/**"], INVENTORY,
                                       "integration/found.txt", "pkg/core.py"),
    })
    editor = await open_editor({"maxCpuPercent": 100, "minFreeMemoryMb": 0})

    answer = await editor.run("yui.multiLang", {"python": "yui", "integrationTests": "yui"})
    python_id, integration_id = answer["taskIds"]
    for task_id in (python_id, integration_id):
        assert (await editor.finished(task_id))["status"] == "completed"
    assert (repo / "pkg" / "core.py").read_text() == "VERSION = 2\n"
    assert (repo / "integration" / "found.txt").read_text() == "pkg/core.py\n"
    python_done = next(i for i, (m, p) in enumerate(editor.notifications)
                       if m == "yui/taskUpdate" and p["task_id"] == python_id
                       and p["status"] == "completed")
    integration_ran = next(i for i, (m, p) in enumerate(editor.notifications)
                           if m == "yui/taskUpdate" and p["task_id"] == integration_id
                           and p["status"] == "running")
    assert python_done < integration_ran


async def test_a_yui_component_without_work_or_model_is_refused(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    message = await error_of(editor, "yui.develop", {"backend": "yui"})
    assert "say what to build" in message
    # With a prompt, the yui agent is Yui's model worker: refused without a model.
    message = await error_of(editor, "yui.develop", {"backend": "yui", "prompt": "add /users"})
    assert "no model configured" in message
    assert "name at least one component" in await error_of(editor, "yui.multiLang", {})
    assert (await editor.run("yui.listTasks"))["total"] == 0
