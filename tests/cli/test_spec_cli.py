"""`yui spec` end to end: the real CLI runs a Kiro spec and a spec-kit feature with the Kiro
double, ticks their boxes as results land, and resumes where a failure stopped it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.real_cli import scripted_server
from tests.specs.samples import agent_env, boxes, spec_repo

from .conftest import Done, cli_env, yui_argv

KIRO_MD = ".kiro/specs/shop/tasks.md"
KIT_MD = "specs/001-albums/tasks.md"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return spec_repo(tmp_path / "work")


def run_yui(tmp_path: Path, root: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 180) -> Done:
    done = subprocess.run(yui_argv(*args), cwd=root, env={**cli_env(tmp_path), **(env or {})},
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return Done(done.returncode, done.stdout, done.stderr)


def updates(done: Done) -> list[dict[str, Any]]:
    msgs = [json.loads(line) for line in done.stdout.splitlines()]
    return [m for m in msgs if m["type"] == "task_update"]


def key(update: dict[str, Any]) -> str:
    return str(update["title"]).split(" ", 1)[0]


def first(msgs: list[dict[str, Any]], task: str, status: str) -> int:
    return next(i for i, m in enumerate(msgs) if key(m) == task and m["status"] == status)


def started(msgs: list[dict[str, Any]]) -> set[str]:
    return {key(m) for m in msgs if m["status"] == "running"}


def test_spec_lists_both_formats_with_done_and_total(tmp_path: Path, root: Path) -> None:
    done = run_yui(tmp_path, root, "spec", "--json")
    assert done.code == 0, done.stderr
    listed = {s["name"]: s for s in map(json.loads, done.stdout.splitlines())}
    assert listed["shop"]["format"] == "kiro" and listed["001-albums"]["format"] == "spec-kit"
    assert (listed["shop"]["done"], listed["shop"]["total"]) == (1, 14)
    assert (listed["001-albums"]["done"], listed["001-albums"]["total"]) == (1, 8)


def test_dry_run_shows_waves_and_why_each_edge_exists(tmp_path: Path, root: Path) -> None:
    done = run_yui(tmp_path, root, "spec", "run", "shop", "--dry-run", "--json")
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["waves"][0] == ["1.1", "1.2", "1.3", "1.4"]
    reasons = {(e["task"], e["after"]): e["reason"] for e in plan["edges"]}
    assert reasons[("2.1", "1.1")].startswith("explicit")
    assert "tests of" in reasons[("2.3", "2.1")]
    assert reasons[("3", "2.2")].startswith("checkpoint")
    assert reasons[("4.1", "3")] == "after checkpoint 3"
    assert plan["claims"]["3"] == ["**"]  # names no file: runs alone
    assert {"task": "4.3", "reason": "optional (--include-optional runs it)"} in plan["skipped"]
    assert (root / KIRO_MD).read_text().count("[x]") == 1  # a dry run changes nothing


def test_kiro_spec_runs_in_parallel_ticks_boxes_and_resumes_after_a_failure(
    tmp_path: Path, root: Path
) -> None:
    before = (root / KIRO_MD).read_text()
    env = agent_env(tmp_path, parties=4, fail=True)
    done = run_yui(tmp_path, root, "spec", "run", "shop", "--agent", "kiro",
                   "--max-workers", "4", "--json", env=env)
    assert done.code == 1, done.stderr[-2000:]
    msgs = updates(done)
    # The four models met at the barrier: they ran at the same time.
    assert len(list((tmp_path / "barrier" / "models").iterdir())) == 4
    # Dependents in order.
    assert first(msgs, "1.1", "completed") < first(msgs, "2.1", "running")
    assert first(msgs, "2.1", "completed") < first(msgs, "2.3", "running")
    # The failure stays unticked and what depends on it never started.
    finals = {key(m): m["status"] for m in msgs}
    assert finals["2.2"] == "failed"
    assert not started(msgs) & {"3", "4.1", "4.2", "5"}
    ticked = boxes((root / KIRO_MD).read_text())
    ends = {key(m): (m["status"], m.get("error") or m.get("message")) for m in msgs}
    assert {k for k, v in ticked.items() if v} == {"1", "1.1", "1.2", "1.3", "1.4", "2.1",
                                                   "2.3", "2.4", "6"}, ends
    assert (root / "app" / "user.py").read_text() == "USER = 'user'"
    # Every other byte of tasks.md is the user's: only the ticked marks changed.
    after = (root / KIRO_MD).read_text()
    assert len(after) == len(before)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [
        before.index(f"[ ] {k} ") + 1 for k in ("1.", "1.1", "1.2", "1.3", "1.4", "2.1",
                                                "2.3", "2.4")]

    Path(env["SPEC_FAIL_FLAG"]).unlink()
    rerun = run_yui(tmp_path, root, "spec", "run", "shop", "--max-workers", "4", "--json",
                    env=env)
    assert rerun.code == 0, rerun.stderr[-2000:]
    again = updates(rerun)
    assert started(again) == {"2.2", "3", "4.1", "4.2", "5"}
    assert first(again, "2.2", "completed") < first(again, "3", "running")
    assert first(again, "3", "completed") < first(again, "4.1", "running")
    ticked = boxes((root / KIRO_MD).read_text())
    assert [k for k, v in ticked.items() if not v] == ["4.3"]  # only the optional one is left
    assert "<!-- a note the user keeps -->" in (root / KIRO_MD).read_text()


def test_spec_kit_feature_runs_its_p_tasks_together(tmp_path: Path, root: Path) -> None:
    env = agent_env(tmp_path, parties=4, fail=False)
    done = run_yui(tmp_path, root, "spec", "run", "001-albums", "--max-workers", "4", "--json",
                   env=env)
    assert done.code == 0, done.stderr[-2000:]
    msgs = updates(done)
    assert len(list((tmp_path / "barrier" / "story").iterdir())) == 4
    assert first(msgs, "T002", "completed") < first(msgs, "T003", "running")
    for parallel in ("T003", "T004", "T005", "T006"):
        assert first(msgs, parallel, "completed") < first(msgs, "T007", "running")
    assert first(msgs, "T007", "completed") < first(msgs, "T008", "running")
    assert all(boxes((root / KIT_MD).read_text()).values())
    assert "- [X] T001" in (root / KIT_MD).read_text()  # the user's own mark is kept


@pytest.mark.parametrize("where", ["specs/001-albums", "specs/001-albums/tasks.md"])
def test_develop_with_a_spec_folder_runs_that_spec(tmp_path: Path, root: Path,
                                                   where: str) -> None:
    env = agent_env(tmp_path, parties=1, fail=False)
    done = run_yui(tmp_path, root, "develop", "--spec", where, "--json", env=env)
    assert done.code == 0, done.stderr[-2000:]
    assert all(boxes((root / KIT_MD).read_text()).values())


def test_spec_plan_writes_a_plan_that_yui_run_accepts(tmp_path: Path, root: Path) -> None:
    done = run_yui(tmp_path, root, "spec", "plan", "shop", "--only", "1,2.1", "-o", "p.toml")
    assert done.code == 0, done.stderr
    env = agent_env(tmp_path, parties=4, fail=False)
    ran = run_yui(tmp_path, root, "run", "p.toml", "--json", env=env)
    assert ran.code == 0, ran.stderr[-2000:]
    ticked = boxes((root / KIRO_MD).read_text())
    assert {k for k, v in ticked.items() if v} == {"1", "1.1", "1.2", "1.3", "1.4", "2.1", "6"}


def test_unknown_spec_and_task_are_clear_errors(tmp_path: Path, root: Path) -> None:
    done = run_yui(tmp_path, root, "spec", "run", "nope")
    assert done.code == 2 and "no spec named 'nope'" in done.stderr
    done = run_yui(tmp_path, root, "spec", "run", "shop", "--only", "9.9", "--dry-run")
    assert done.code == 2 and "no task 9.9" in done.stderr


def _planner_env(tmp_path: Path, answer: dict[str, Any]) -> dict[str, str]:
    reply = tmp_path / "planner.json"
    reply.write_text("Here is the plan:\n" + json.dumps(answer))
    return {**agent_env(tmp_path, parties=1, fail=False), "FAKE_KIRO_REPLY": str(reply)}


def test_planner_adds_dependencies_and_claims_shown_before_running(
    tmp_path: Path, root: Path
) -> None:
    answer = {"tasks": [{"id": "3", "claims": ["tests/**"]},
                        {"id": "4.2", "depends_on": ["4.1"], "reason": "documents the routes"}]}
    done = run_yui(tmp_path, root, "spec", "run", "shop", "--planner", "kiro", "--dry-run",
                   "--json", env=_planner_env(tmp_path, answer))
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["claims"]["3"] == ["tests/**"]
    reasons = {(e["task"], e["after"]): e["reason"] for e in plan["edges"]}
    assert reasons[("4.2", "4.1")] == "planner: documents the routes"
    shown = run_yui(tmp_path, root, "spec", "run", "shop", "--planner", "kiro", "--dry-run",
                    env=_planner_env(tmp_path, answer))
    assert "4.2 after 4.1 (planner: documents the routes)" in shown.stdout
    assert "3 claims tests/** (planner)" in shown.stdout


@pytest.mark.parametrize(("answer", "words"), [
    ({"tasks": [{"id": "9", "depends_on": []}]}, "task '9', which is not in"),
    ({"tasks": [{"id": "4.1", "depends_on": ["4.2"]}, {"id": "4.2", "depends_on": ["4.1"]}]},
     "cycle"),
    ({"tasks": [{"id": "5", "claims": ["../elsewhere/**"]}]}, "outside the workspace"),
    ({"plan": "no tasks key"}, "no JSON object"),
])
def test_planner_answers_that_cannot_be_trusted_are_refused(
    tmp_path: Path, root: Path, answer: dict[str, Any], words: str
) -> None:
    done = run_yui(tmp_path, root, "spec", "run", "shop", "--planner", "kiro",
                   env=_planner_env(tmp_path, answer))
    assert done.code == 2, done.stdout + done.stderr
    assert words in done.stderr
    assert (root / KIRO_MD).read_text().count("[x]") == 1  # nothing ran


def test_yui_model_plans_the_spec(tmp_path: Path, root: Path) -> None:
    answer = {"tasks": [{"id": "5", "claims": ["README.md", "docs/**"], "depends_on": ["4.2"],
                         "reason": "the README links the API docs"}]}
    with scripted_server(tmp_path / "model", {"plan": answer}) as (port, log):
        pyproject = root / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + '[tool.yui.yui]\nmodel = "gpt-test"\n'
                             f'base_url = "http://127.0.0.1:{port}/v1"\nmax_retries = 0\n')
        done = run_yui(tmp_path, root, "spec", "run", "shop", "--planner", "yui", "--dry-run",
                       "--json")
        assert done.code == 0, done.stderr
        prompts = log.read_text()
    plan = json.loads(done.stdout)
    assert plan["claims"]["5"] == ["README.md", "docs/**"]
    reasons = {(e["task"], e["after"]): e["reason"] for e in plan["edges"]}
    assert reasons[("5", "4.2")] == "planner: the README links the API docs"
    assert prompts.strip()  # the model was asked
