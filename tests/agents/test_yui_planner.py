"""Yui the planner below the CLI: the spec runner's planner interface over HTTP, and the
validation of a drafted plan on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.real_cli import scripted_server
from yui_lsp.agents.base import Limits
from yui_lsp.agents.yui import model_planner
from yui_lsp.agents.yui.plan_draft import DraftTask, PlanDraft
from yui_lsp.config import AgentProfile, YuiModelConfig
from yui_lsp.coordinator.planning import check_draft, repository_files
from yui_lsp.errors import AgentUnavailableError, PlanError


@dataclass
class Request:
    """The part of the spec runner's PlanRequest a planner reads."""

    prompt: str


async def test_model_planner_answers_the_spec_runners_json(tmp_path: Path) -> None:
    links = {"tasks": [{"id": "1.1", "depends_on": [], "claims": ["src/models/**"],
                        "reason": "the models first"},
                       {"id": "1.2", "depends_on": ["1.1"], "claims": ["src/api/**"],
                        "reason": "uses the models"}]}
    with scripted_server(tmp_path / "model", {"plan": links}) as (port, log):
        config = YuiModelConfig(model="gpt-test", base_url=f"http://127.0.0.1:{port}/v1",
                                max_retries=0)
        planner = model_planner(AgentProfile(kind="yui", yui=config), Limits())
        answer = await planner.propose(Request(prompt="Task ids: 1.1, 1.2\ntasks.md: ..."))
    assert planner.name == "yui"
    assert answer == links
    assert "Task ids: 1.1, 1.2" in log.read_text()


def test_model_planner_without_a_model_is_one_line() -> None:
    with pytest.raises(AgentUnavailableError, match="no model configured"):
        model_planner(AgentProfile(kind="yui", yui=YuiModelConfig()), Limits())


def _draft(*tasks: DraftTask) -> PlanDraft:
    return PlanDraft(tasks=list(tasks))


def _task(task_id: str, claims: list[str], deps: list[str] | None = None) -> DraftTask:
    return DraftTask(id=task_id, title=task_id, agent="yui", prompt=f"do {task_id}",
                     claims=claims, depends_on=deps or [])


@pytest.mark.parametrize("claim", ["vendor/**", "{src,vendor}/*.py"])
def test_check_draft_refuses_a_claim_through_a_symlink_out(claim: str, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "vendor").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PlanError, match=rf"claims '{re.escape(claim)}', which is outside"):
        check_draft(_draft(_task("a", [claim])), root, ["yui"])


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (_draft(), "returned no tasks"),
        (_draft(_task("a", ["x/**"]), _task("a", ["y/**"])), "task id 'a' is used twice"),
        (_draft(_task("a", ["x/**"], ["a"])), "dependency cycle: a -> a"),
        (_draft(_task("bad id!", ["x/**"])), "id: Value error, task id must be"),
        (_draft(_task("a", ["src/[x"])), "unbalanced"),
    ],
)
def test_check_draft_reasons(tmp_path: Path, draft: PlanDraft, reason: str) -> None:
    with pytest.raises(PlanError, match=reason.replace("[", r"\[")):
        check_draft(draft, tmp_path, ["yui"])


def test_check_draft_keeps_a_sound_plan(tmp_path: Path) -> None:
    plan = check_draft(_draft(_task("api", ["api/**"]), _task("docs", ["docs/**"], ["api"])),
                       tmp_path, ["yui"], max_workers=2)
    assert plan.max_workers == 2
    assert [(t.id, t.depends_on) for t in plan.tasks] == [("api", []), ("docs", ["api"])]


def test_repository_files_outside_git_skip_vendor_folders(tmp_path: Path) -> None:
    for rel in ("a.py", "pkg/b.py", "node_modules/x/index.js", ".yui/tasks.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert repository_files(tmp_path) == (["a.py", "pkg/b.py"], 0)
    assert repository_files(tmp_path, limit=1) == (["a.py"], 1)
