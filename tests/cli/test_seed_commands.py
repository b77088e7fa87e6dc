"""The seed's two headline commands, exactly as written, end to end: the real `yui` CLI in a
subprocess, the Kiro double for `kiro` and Yui's own worker, talking to the scripted model
server on 127.0.0.1, for `yui`. Every component lands, in dependency order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.real_cli import scripted_server

from .conftest import Yui
from .test_agent_flows import index_of, project, signed_in

__all__ = ["signed_in"]  # the fixture, used by every test here

pytestmark = pytest.mark.usefixtures("signed_in")

DEVELOP = ("develop --parallel --frontend kiro --backend kiro --database yui --testing kiro "
           "--docs yui --max-workers 4")
MULTI_LANG = ("multi-lang --parallel --python kiro --typescript kiro --rust yui "
              "--integration-tests kiro")


def _write(path: str, content: str) -> dict[str, Any]:
    return {"tool": "write_file", "args": {"path": path, "content": content}}


SCRIPT = {"routes": [
    {"match": "the database part", "chat": [
        _write("db/schema.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);\n"),
        {"text": "Added the users table."},
    ]},
    {"match": "the docs part", "chat": [
        {"tool": "read_file", "args": {"path": "backend/users.py"}},
        _write("docs/users.md", "# Users\n\nServed by backend/users.py.\n"),
        {"text": "Documented the users endpoint."},
    ]},
    {"match": "the rust part", "chat": [
        _write("src/lib.rs", "pub fn users() -> u32 { 1 }\n"),
        {"text": "Added users() in Rust."},
    ]},
]}


@pytest.fixture
def model(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    with scripted_server(tmp_path / "model", SCRIPT) as server:
        yield server


def _configure(repo: Path, port: int, components: str) -> None:
    project(repo, f"""
[tool.yui.yui]
model = "gpt-test"
base_url = "http://127.0.0.1:{port}/v1"
max_retries = 0
{components}""")


def _audit(repo: Path) -> list[dict[str, Any]]:
    lines = (repo / ".yui" / "audit.jsonl").read_text().splitlines()
    return [m for m in map(json.loads, lines) if m.get("type") == "task_update"]


def _after(msgs: list[dict[str, Any]], task: str, deps: list[str]) -> None:
    started = index_of(msgs, task, "running")
    for dep in deps:
        assert index_of(msgs, dep, "completed") < started, f"{task} ran before {dep} completed"


def test_develop_as_the_seed_writes_it(repo: Path, yui: Yui, model: tuple[int, Path]) -> None:
    port, log = model
    _configure(repo, port, """
[tool.yui.components.frontend]
prompt = "write frontend/users.tsx: export const Users = () => 'users';"
[tool.yui.components.backend]
prompt = "write backend/users.py: USERS = ['ada']"
[tool.yui.components.database]
prompt = "Add a users table."
[tool.yui.components.tests]
prompt = "write tests/test_users.py: from backend.users import USERS"
[tool.yui.components.docs]
prompt = "Document the users endpoint."
""")
    done = yui(*DEVELOP.split(), timeout=180)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "frontend" / "users.tsx").read_text() == "export const Users = () => 'users';"
    assert (repo / "backend" / "users.py").read_text() == "USERS = ['ada']"
    assert (repo / "db" / "schema.sql").read_text().startswith("CREATE TABLE users")
    assert (repo / "tests" / "test_users.py").exists()
    assert (repo / "docs" / "users.md").read_text().startswith("# Users")
    msgs = _audit(repo)
    _after(msgs, "tests", ["frontend", "backend", "database"])
    _after(msgs, "docs", ["frontend", "backend", "database", "tests"])
    # The docs worker really saw the backend's result in its sandbox.
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(r["tool_result"] == "USERS = ['ada']" for r in seen)


def test_multi_lang_as_the_seed_writes_it(
    repo: Path, yui: Yui, model: tuple[int, Path]
) -> None:
    port, _ = model
    _configure(repo, port, """
[tool.yui.components.python]
prompt = "write app/users.py: USERS = 1"
[tool.yui.components.typescript]
prompt = "write web/users.ts: export const users = 1;"
[tool.yui.components.rust]
prompt = "Port users() to Rust."
[tool.yui.components.integration-tests]
prompt = "write tests/integration/run.sh: python -c 'import app.users'"
""")
    done = yui(*MULTI_LANG.split(), timeout=180)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "app" / "users.py").read_text() == "USERS = 1"
    assert (repo / "web" / "users.ts").read_text() == "export const users = 1;"
    assert (repo / "src" / "lib.rs").read_text() == "pub fn users() -> u32 { 1 }\n"
    assert (repo / "tests" / "integration" / "run.sh").exists()
    _after(_audit(repo), "integration-tests", ["python", "typescript", "rust"])


def test_the_seed_command_without_work_says_what_to_pass(repo: Path, yui: Yui) -> None:
    done = yui(*DEVELOP.split())
    assert done.code == 2
    assert "--prompt TEXT or --spec FILE" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
