"""The seed's agent flows end to end: the real `yui` CLI in a subprocess, driving the test
doubles of Kiro CLI (headless and ACP) and Gemini CLI under tests/fixtures/ on a real git
repository. What each test checks is what the user sees: exit code, files, --json messages.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import PYTHON, Done, Yui, git

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KIRO = FIXTURES / "kiro-cli"
GEMINI = FIXTURES / "gemini"

# The machines running this suite are shared and often busy: the CPU/memory gates would hold
# tasks back for reasons that are not under test here.
_ROOMY = "[tool.yui]\nmax_cpu_percent = 100\nmin_free_memory_mb = 0\n\n"

# Stands in front of the Kiro double: each `chat` waits until BARRIER_PARTIES agents have
# arrived. If yui ran the agents one at a time, the first would wait alone and give up.
_BARRIER_KIRO = """
import os, sys, time
from pathlib import Path
folder, parties = Path(os.environ["BARRIER_DIR"]), int(os.environ["BARRIER_PARTIES"])
if sys.argv[1:2] == ["chat"]:
    (folder / os.urandom(8).hex()).touch()  # pids repeat across PID namespaces
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            sys.exit("barrier: no other agent ran at the same time as this one")
        time.sleep(0.02)
os.execv(sys.executable, [sys.executable, KIRO, *sys.argv[1:]])
"""


def project(repo: Path, config: str) -> None:
    """Gives the repo a pyproject.toml with ``config`` (TOML) and commits it."""
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n\n' + _ROOMY
                                         + config)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "configure yui")


def messages(done: Done) -> list[dict[str, Any]]:
    """The protocol messages of a --json run (every stdout line must be one)."""
    return [json.loads(line) for line in done.stdout.splitlines()]


def final_updates(msgs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each task's last task_update."""
    return {m["task_id"]: m for m in msgs if m["type"] == "task_update"}


def index_of(msgs: list[dict[str, Any]], task_id: str, status: str) -> int:
    """Position in the stream of the first update of ``task_id`` with ``status``."""
    return next(i for i, m in enumerate(msgs)
                if m["type"] == "task_update" and m["task_id"] == task_id
                and m["status"] == status)


def user_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".yui"} & set(p.relative_to(root).parts)
    }


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doubles on hand through YUI_*_CLI, and a Kiro credential."""
    monkeypatch.setenv("YUI_KIRO_CLI", str(KIRO))
    monkeypatch.setenv("YUI_GEMINI_CLI", str(GEMINI))
    monkeypatch.setenv("KIRO_API_KEY", "test-key")


@pytest.mark.usefixtures("signed_in")
def test_develop_runs_frontend_and_backend_kiro_agents_in_parallel(
    repo: Path, yui: Yui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "src" / "frontend").mkdir()
    (repo / "src" / "frontend" / "App.tsx").write_text("export const title = 'old';\n")
    (repo / "src" / "backend").mkdir()
    (repo / "src" / "backend" / "api.py").write_text("ROUTES = []\n")
    project(repo, """
[tool.yui.components.frontend]
paths = ["src/frontend/**"]
prompt = '''
write src/frontend/Header.tsx: export const Header = 'users';
replace src/frontend/App.tsx: 'old' => 'Users'
'''

[tool.yui.components.backend]
paths = ["src/backend/**"]
prompt = '''
write src/backend/users.py: USERS = []
replace src/backend/api.py: [] => ['/users']
'''
""")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    wrapper = tmp_path / "barrier_kiro.py"
    wrapper.write_text(f"KIRO = {str(KIRO)!r}\n{_BARRIER_KIRO}")
    monkeypatch.setenv("YUI_KIRO_CLI", f"{PYTHON} {wrapper}")
    monkeypatch.setenv("BARRIER_DIR", str(barrier))
    monkeypatch.setenv("BARRIER_PARTIES", "2")

    done = yui("develop", "--parallel", "--frontend", "kiro", "--backend", "kiro",
               "--max-workers", "4", "--prompt", "Add a users page", "--json")

    assert done.code == 0, done.stdout[-3000:] + done.stderr
    assert len(list(barrier.iterdir())) == 2  # both agents were running at once
    msgs = messages(done)
    ends = final_updates(msgs)
    assert {t: ends[t]["status"] for t in ("frontend", "backend")} == {
        "frontend": "completed", "backend": "completed"}
    assert sorted(ends["frontend"]["files_modified"]) == [
        "src/frontend/App.tsx", "src/frontend/Header.tsx"]
    frontend = repo / "src" / "frontend"
    assert (frontend / "App.tsx").read_text() == "export const title = 'Users';\n"
    assert (frontend / "Header.tsx").read_text() == "export const Header = 'users';"
    assert (repo / "src" / "backend" / "api.py").read_text() == "ROUTES = ['/users']\n"
    assert (repo / "src" / "backend" / "users.py").read_text() == "USERS = []"
    metrics = {m["task_id"]: m for m in msgs if m["type"] == "task_metrics"}
    assert metrics["frontend"]["extra"]["credits"] == metrics["backend"]["extra"]["credits"] == 0.21
    assert all(m["attempts"] == 1 for m in metrics.values())


@pytest.mark.usefixtures("signed_in")
def test_multi_lang_runs_integration_tests_after_the_languages(repo: Path, yui: Yui) -> None:
    project(repo, """
[tool.yui.components.python]
paths = ["src/**/*.py"]
prompt = "write src/service.py: VERSION = 2"

[tool.yui.components.typescript]
paths = ["web/**"]
prompt = "write web/client.ts: export const VERSION = 2;"

[tool.yui.components.integration-tests]
paths = ["tests/integration/**"]
# Replacing text in files the other two create fails unless they have landed already.
prompt = '''
replace src/service.py: 2 => 2
replace web/client.ts: 2 => 2
write tests/integration/test_version.py: from src.service import VERSION
'''
""")
    done = yui("multi-lang", "--python", "kiro", "--typescript", "gemini",
               "--integration-tests", "kiro", "--prompt", "Expose the version", "--json")

    assert done.code == 0, done.stdout[-3000:] + done.stderr
    msgs = messages(done)
    ends = final_updates(msgs)
    assert {t: m["status"] for t, m in ends.items()} == {
        "python": "completed", "typescript": "completed", "integration-tests": "completed"}
    assert ends["typescript"]["agent"] == "gemini"
    started = index_of(msgs, "integration-tests", "running")
    assert started > index_of(msgs, "python", "completed")
    assert started > index_of(msgs, "typescript", "completed")
    assert ends["integration-tests"]["files_modified"] == ["tests/integration/test_version.py"]
    assert (repo / "src" / "service.py").read_text() == "VERSION = 2"
    assert (repo / "web" / "client.ts").read_text() == "export const VERSION = 2;"
    assert (repo / "tests" / "integration" / "test_version.py").is_file()


def test_kiro_stuck_in_device_login_fails_fast_and_changes_nothing(
    repo: Path, yui: Yui, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUI_KIRO_CLI", str(KIRO))
    monkeypatch.delenv("KIRO_API_KEY", raising=False)
    before = user_files(repo)
    started = time.monotonic()
    done = yui("develop", "--frontend", "kiro", "--backend", "kiro", "--prompt", "Add a page")
    elapsed = time.monotonic() - started
    assert done.code == 1
    assert "Kiro CLI is not signed in: set KIRO_API_KEY or run `kiro-cli login`" in done.stdout
    assert elapsed < 20, f"took {elapsed:.1f} s: the device-login hang was not caught"
    assert user_files(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_unknown_agent_is_one_clear_line(repo: Path, yui: Yui) -> None:
    done = yui("develop", "--frontend", "kiro-pro", "--prompt", "Add a page")
    assert done.code == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "unknown agent 'kiro-pro'" in line and "known agents:" in line and "kiro" in line
    assert git(repo, "status", "--porcelain") == ""


def test_missing_executable_is_one_clear_line(
    repo: Path, yui: Yui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUI_KIRO_CLI", str(tmp_path / "not-installed" / "kiro-cli"))
    monkeypatch.setenv("KIRO_API_KEY", "test-key")
    done = yui("develop", "--frontend", "kiro", "--prompt", "Add a page")
    assert done.code == 2
    (line,) = done.stderr.strip().splitlines()
    assert "kiro-cli not found" in line and "YUI_KIRO_CLI" in line
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.usefixtures("signed_in")
def test_run_plan_mixing_kiro_acp_and_shell(repo: Path, yui: Yui, tmp_path: Path) -> None:
    project(repo, "")
    command = json.dumps([PYTHON, "-c", "open('src/b.py', 'a').write('# formatted\\n')"])
    plan = tmp_path / "plan.toml"
    plan.write_text(f"""max_workers = 2
[[task]]
id = "users-acp"
agent = "kiro-acp"
prompt = "write src/users.py: USERS = []\\nreplace src/a.py: old_name => new_name"
claims = ["src/a.py", "src/users.py"]

[[task]]
id = "format"
agent = "shell"
command = {command}
claims = ["src/b.py"]
""")
    done = yui("run", str(plan), "--json")

    assert done.code == 0, done.stdout[-3000:] + done.stderr
    msgs = messages(done)
    ends = final_updates(msgs)
    assert {t: m["status"] for t, m in ends.items()} == {
        "users-acp": "completed", "format": "completed"}
    assert sorted(ends["users-acp"]["files_modified"]) == ["src/a.py", "src/users.py"]
    # ACP progress arrives structured: the agent's plan and tool calls, by title.
    said = [m["line"] for m in msgs if m["type"] == "agent_output" and m["task_id"] == "users-acp"]
    assert any(line.startswith("plan 0/2") for line in said)
    assert "Write src/users.py" in said
    assert (repo / "src" / "a.py").read_text() == "from new_name import thing  # a\n"
    assert (repo / "src" / "users.py").read_text() == "USERS = []"
    assert (repo / "src" / "b.py").read_text() == "from old_name import thing  # b\n# formatted\n"
