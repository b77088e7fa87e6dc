"""A headless planner (``yui spec run --planner AGENT``) is an agent run like a task's: its
time limits come from the same settings, are enforced by ``agents.limits.run_limited`` with
the same wording, and its processes end with it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import psutil
import pytest

from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import AgentFailedError
from yui_lsp.specs import SpecError, load_spec
from yui_lsp.specs.planner import planned, planner_for

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "kiro"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root / ".kiro" / "specs" / "todo")
    return root


def planner_command(tmp_path: Path, body: str) -> list[str]:
    """A planner running ``body``, findable by ``tmp_path`` in its argv."""
    return [sys.executable, "-c", f"import time\n{body}", str(tmp_path)]


def running(tmp_path: Path) -> list[psutil.Process]:
    """Processes with ``tmp_path`` in their argv (the planner, bwrap around it)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in (process.info["cmdline"] or ()):
            found.append(process)
    return found


@pytest.mark.parametrize(("limits", "body", "wording"), [
    # Silent: the profile's idle limit calls it hung (long before its wall clock).
    ({"idle_timeout_s": 0.5, "timeout_s": 60}, "time.sleep(60)",
     "agent 'slow' produced no output for 0.5 s; treated as hung "
     "(raise idle_timeout_s of agent 'slow' if it needs longer)"),
    # Chatty but endless: the settings' wall clock stops it.
    ({}, "while True:\n    print('thinking', flush=True)\n    time.sleep(0.05)",
     "agent 'slow' did not finish within 0.5 s and was stopped "
     "(raise default_timeout_s in the settings if it needs longer)"),
])
async def test_a_planner_that_hangs_is_stopped_by_the_configured_limit(
        root: Path, tmp_path: Path, limits: dict[str, float], body: str, wording: str) -> None:
    settings = Settings(default_timeout_s=0.5, agents={"slow": AgentProfile(
        kind="command", command=planner_command(tmp_path, body), **limits)})
    with pytest.raises(AgentFailedError) as caught:
        await planned(planner_for("slow", settings), root, load_spec(root, "todo"), {})
    assert str(caught.value) == wording
    assert not running(tmp_path), "the planner's processes end with its run"


async def test_a_planner_within_its_limits_answers(root: Path, tmp_path: Path) -> None:
    answer = {"tasks": [{"id": "2.2", "depends_on": ["2.1"], "reason": "tests the model"}]}
    body = f"print('Here is the plan:')\nprint({json.dumps(json.dumps(answer))})"
    settings = Settings(default_timeout_s=30, agents={"quick": AgentProfile(
        kind="command", command=planner_command(tmp_path, body))})
    spec_plan = await planned(planner_for("quick", settings), root, load_spec(root, "todo"), {})
    assert any(e.reason == "planner: tests the model" for e in spec_plan.edges)


def test_an_agent_that_cannot_plan_is_refused_naming_those_that_can() -> None:
    settings = Settings(agents={"helper": AgentProfile(kind="aider")})
    with pytest.raises(SpecError, match="kind 'aider' cannot plan a spec here; use an agent of "
                       "kind kiro, claude, codex, gemini, command, yui"):
        planner_for("helper", settings)
