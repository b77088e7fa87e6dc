"""`yui plan`: Yui's planner through the real CLI, its model the scripted server on
127.0.0.1. A sound plan becomes a plan file `yui run` reads; an unsound one is refused with
the reason and nothing is written."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.real_cli import scripted_server
from tests.specs.samples import spec_repo
from yui_lsp.cli.plans import load_plan, plan_to_toml
from yui_lsp.protocol import Plan

from .conftest import Yui, cli_env, yui_argv
from .test_agent_flows import project, signed_in

__all__ = ["signed_in"]

Serve = Callable[[list[dict[str, Any]]], Path]


def _task(task_id: str, agent: str, prompt: str, claims: list[str],
          deps: list[str] | None = None) -> dict[str, Any]:
    return {"id": task_id, "title": task_id.replace("-", " "), "agent": agent,
            "prompt": prompt, "claims": claims, "depends_on": deps or []}


API = _task("users-api", "kiro", "write api/users.py: USERS = []", ["api/**"])
TESTS = _task("users-tests", "kiro", "write tests/test_users.py: import api.users",
              ["tests/test_users.py"], ["users-api"])


@pytest.fixture
def serve(repo: Path, tmp_path: Path) -> Iterator[Serve]:
    """Configures the repo's yui model to a scripted server answering ``tasks`` as the plan;
    returns the server's request log."""
    with ExitStack() as stack:
        def start(tasks: list[dict[str, Any]]) -> Path:
            port, log = stack.enter_context(
                scripted_server(tmp_path / "model", {"plan": {"tasks": tasks}})
            )
            project(repo, f'[tool.yui.yui]\nmodel = "gpt-test"\n'
                          f'base_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n')
            return log

        yield start


def test_a_scripted_plan_becomes_a_plan_file(repo: Path, yui: Yui, serve: Serve) -> None:
    log = serve([API, TESTS])
    done = yui("plan", "Add a users API with tests", "--agents", "kiro,yui", "-o", "plan.toml")
    assert done.code == 0, done.stdout + done.stderr
    plan = load_plan(repo / "plan.toml")
    assert [(t.id, t.agent, t.claims, t.depends_on) for t in plan.tasks] == [
        ("users-api", "kiro", ["api/**"], []),
        ("users-tests", "kiro", ["tests/test_users.py"], ["users-api"]),
    ]
    assert "yui run plan.toml" in done.stdout
    # Grounded: the model was shown the request, the agents and the repository's files.
    asked = json.loads(log.read_text().splitlines()[0])["user"]
    assert "Add a users API with tests" in asked and "kiro, yui" in asked
    assert "src/a.py" in asked and "README.md" in asked


@pytest.mark.parametrize(
    ("tasks", "reason"),
    [
        ([{**API, "depends_on": ["users-tests"]}, TESTS],
         "dependency cycle: users-api -> users-tests -> users-api"),
        ([{**API, "claims": ["../elsewhere/**"]}], "claims '../elsewhere/**', which is outside"),
        ([{**API, "claims": ["/etc/passwd"]}], "claims '/etc/passwd', which is outside"),
        ([{**API, "agent": "gemini"}], "uses agent 'gemini', which is not one of the agents"),
        ([API, {**TESTS, "depends_on": ["nope"]}], "depends on unknown task 'nope'"),
    ],
)
def test_an_unsound_plan_is_refused_with_the_reason(
    repo: Path, yui: Yui, serve: Serve, tasks: list[dict[str, Any]], reason: str
) -> None:
    serve(tasks)
    done = yui("plan", "Add a users API", "--agents", "kiro,yui", "-o", "plan.toml")
    assert done.code == 2, done.stdout + done.stderr
    assert reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (repo / "plan.toml").exists()


@pytest.mark.usefixtures("signed_in")
def test_plan_run_runs_it(repo: Path, yui: Yui, serve: Serve) -> None:
    serve([API, TESTS])
    done = yui("plan", "Add a users API with tests", "--agents", "kiro", "--run", timeout=120)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "api" / "users.py").read_text() == "USERS = []"
    assert (repo / "tests" / "test_users.py").read_text() == "import api.users"


@pytest.mark.usefixtures("signed_in")
def test_develop_with_plan_uses_the_planner(repo: Path, yui: Yui, serve: Serve) -> None:
    log = serve([API])
    done = yui("develop", "--backend", "kiro", "--prompt", "Add a users API", "--plan",
               "--dry-run", "--json")
    assert done.code == 0, done.stdout + done.stderr
    assert [t["id"] for t in json.loads(done.stdout)["tasks"]] == ["users-api"]
    asked = json.loads(log.read_text().splitlines()[0])["user"]
    assert "backend (agent kiro)" in asked


def test_plan_without_a_model_says_how_to_configure(repo: Path, yui: Yui) -> None:
    done = yui("plan", "Add a users API")
    assert done.code == 2
    assert "no model configured" in done.stderr and "[tool.yui.yui]" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_plan_files_round_trip(tmp_path: Path) -> None:
    tricky = {**API, "prompt": 'multi\nline "quoted" \\ prompt \u00e9'}
    plan = Plan.model_validate({"max_workers": 3, "task": [tricky, TESTS]})
    path = tmp_path / "plan.toml"
    path.write_text(plan_to_toml(plan))
    assert load_plan(path) == plan


def test_spec_planner_yui_adds_dependencies_and_claims(tmp_path: Path) -> None:
    root = spec_repo(tmp_path / "work")
    answer = {"tasks": [{"id": "3", "depends_on": [], "claims": ["tests/**"], "reason": ""},
                        {"id": "4.2", "depends_on": ["4.1"], "claims": [],
                         "reason": "documents the routes"}]}
    with scripted_server(tmp_path / "model", {"plan": answer}) as (port, log):
        with (root / "pyproject.toml").open("a") as fh:
            fh.write(f'\n[tool.yui.yui]\nmodel = "gpt-test"\n'
                     f'base_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n')
        done = subprocess.run(
            yui_argv("spec", "run", "shop", "--planner", "yui", "--dry-run", "--json"),
            cwd=root, env=cli_env(tmp_path), capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        asked = json.loads(log.read_text().splitlines()[0])["user"]
    plan = json.loads(done.stdout)
    assert plan["claims"]["3"] == ["tests/**"]
    reasons = {(e["task"], e["after"]): e["reason"] for e in plan["edges"]}
    assert reasons[("4.2", "4.1")] == "planner: documents the routes"
    assert "tasks.md" in asked  # the spec runner's own prompt reached the model


def test_a_model_planner_that_does_not_answer_is_stopped_at_the_wall_clock_limit(
        repo: Path, yui: Yui, tmp_path: Path) -> None:
    with scripted_server(tmp_path / "model", {"plan": {"tasks": [API]}}, delay=60) as (port, _):
        # One request could wait request_timeout_s (180 s); the plan's limit is the run's.
        (repo / ".yui").mkdir(mode=0o700, exist_ok=True)
        (repo / ".yui" / "config.toml").write_text(
            f'default_timeout_s = 2\n\n[yui]\nmodel = "gpt-test"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n')
        started = time.monotonic()
        done = yui("plan", "Add a users API", "-o", "plan.toml")
        took = time.monotonic() - started
    assert done.code != 0
    assert "Yui's planner did not finish within 2 s" in done.stderr, done.stdout + done.stderr
    assert "default_timeout_s in the settings" in done.stderr
    assert took < 30, "stopped at its limit, not at the request's own timeout"
    assert not (repo / "plan.toml").exists()


def test_the_spec_runners_model_planner_is_stopped_at_the_wall_clock_limit(
        tmp_path: Path) -> None:
    root = spec_repo(tmp_path / "work")
    with scripted_server(tmp_path / "model", {"plan": {"tasks": []}}, delay=60) as (port, _):
        (root / ".yui").mkdir(mode=0o700, exist_ok=True)
        (root / ".yui" / "config.toml").write_text(
            f'default_timeout_s = 2\n\n[yui]\nmodel = "gpt-test"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n')
        done = subprocess.run(
            yui_argv("spec", "run", "shop", "--planner", "yui", "--dry-run"),
            cwd=root, env=cli_env(tmp_path), capture_output=True, text=True, timeout=50,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode != 0
    assert "Yui's planner did not finish within 2 s" in done.stderr, done.stdout + done.stderr
