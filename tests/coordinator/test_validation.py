"""What a task must carry comes from the kinds table (agents/kinds.py): the coordinator
refuses a task that carries none of what its agent's kind accepts, naming what it needs."""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import pytest

from yui_lsp.agents.kinds import KIND_NAMES, KINDS
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.coordinator.validation import check_task
from yui_lsp.errors import AgentUnavailableError, PathOutsideWorkspaceError, PlanError
from yui_lsp.protocol import RefactorSpec, Task

#: What each thing a task can carry looks like, filled in.
CARRIED = {
    "prompt": {"prompt": "do it"},
    "command": {"command": [sys.executable, "-c", "pass"]},
    "refactor": {"refactor": RefactorSpec(pattern="a", replacement="b", files=["x.py"])},
}
NEEDS = {"prompt": "needs a prompt", "command": "needs `command = [argv...]`",
         "refactor": "needs `refactor = {pattern, replacement}`"}


def _settings(kind: str) -> Settings:
    return Settings(agents={"mine": AgentProfile(kind=kind, command=["true"])})


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_task_carrying_nothing_its_kind_accepts_is_refused(kind: str, tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=re.escape(NEEDS[KINDS[kind].takes])):
        check_task(Task(id="t", agent="mine"), _settings(kind), tmp_path)


@pytest.mark.parametrize(("kind", "what"), [
    (kind, what) for kind in KIND_NAMES for what in KINDS[kind].accepts])
def test_a_task_carrying_what_its_kind_accepts_is_not_refused_for_it(
        kind: str, what: str, tmp_path: Path) -> None:
    task = Task(id="t", agent="mine", **CARRIED[what])
    # Whether its program or model is available here is another check.
    with contextlib.suppress(AgentUnavailableError):
        check_task(task, _settings(kind), tmp_path)


@pytest.mark.parametrize(("field", "path"), [
    ("claims", "escape/secret.txt"),
    ("claims", "escape/**"),
    ("claims", "{ok,escape}/secret.txt"),  # one brace alternative through the link
    ("claims", "{src/{a,escape}}/*.py"),
    ("files", "escape/x.py"),
    ("refactor", "escape/*.py"),
])
def test_a_path_through_a_symlink_leaving_the_workspace_is_refused(
        field: str, path: str, tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / "src").mkdir(parents=True)
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "src" / "escape").symlink_to(outside)
    carried: dict[str, object] = (
        {"refactor": RefactorSpec(pattern="a", replacement="b", files=[path])}
        if field == "refactor" else {field: [path], "prompt": "do it"})
    with pytest.raises(PathOutsideWorkspaceError, match="is outside"):
        check_task(Task(id="t", agent="yui", **carried), Settings(), root)  # type: ignore[arg-type]


def test_paths_inside_the_workspace_pass(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "inner").symlink_to(tmp_path / "src")  # a link that stays inside
    task = Task(id="t", agent="yui", command=[sys.executable, "-c", "pass"],
                claims=["src/**", "{inner,src}/a.py", "*.md", "new/file.txt"])
    check_task(task, Settings(), tmp_path)
