"""Time limits have one owner, agents.limits: limits_for decides them, run_limited enforces them.

The task's timeout_s, the agent profile's and the settings' default each reach a command
agent and an ACP agent (the real ACP test double) through the same path, and the error says
which setting to raise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.agents.conftest import FIXTURES
from yui_lsp import ParallelTaskManager, Task, TaskStatus
from yui_lsp.agents.base import Limits
from yui_lsp.agents.limits import limits_for
from yui_lsp.config import AgentProfile, Settings

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
ACP_HANG = {"command": [sys.executable, str(FIXTURES / "acp_agent.py")],
            "env": {"FAKE_ACP_MODE": "hang"}}


def test_limits_are_decided_in_order_with_their_source() -> None:
    settings = Settings(default_timeout_s=50, default_idle_timeout_s=70)
    bare, timed = AgentProfile(kind="kiro"), AgentProfile(kind="kiro", timeout_s=40,
                                                          idle_timeout_s=60)
    task = Task(id="t", agent="k", prompt="p")
    assert limits_for(task.model_copy(update={"timeout_s": 30}), timed, settings) == Limits(
        wall_s=30, wall_from="the task's timeout_s",
        idle_s=60, idle_from="idle_timeout_s of agent 'k'")
    assert limits_for(task, timed, settings) == Limits(
        wall_s=40, wall_from="timeout_s of agent 'k'",
        idle_s=60, idle_from="idle_timeout_s of agent 'k'")
    assert limits_for(task, bare, settings) == Limits(
        wall_s=50, wall_from="default_timeout_s in the settings",
        idle_s=70, idle_from="default_idle_timeout_s in the settings")
    assert limits_for(task, bare, Settings()).wall_s is None


async def test_task_profile_and_default_timeouts_stop_both_agent_kinds(
    repo: Path, tmp_path: Path
) -> None:
    # Three distinct limits, so each message proves which one applied.
    settings = Settings(
        sandbox_dir=str(tmp_path / "sandboxes"), max_workers=6, default_timeout_s=0.5,
        agents={
            "cmd": AgentProfile(kind="command", command=SLEEPER, timeout_s=0.6),
            "cmd-bare": AgentProfile(kind="command", command=SLEEPER),
            "acp": AgentProfile(kind="acp", timeout_s=0.6, **ACP_HANG),
            "acp-bare": AgentProfile(kind="acp", **ACP_HANG),
        },
    )
    expected: dict[str, str] = {}
    async with ParallelTaskManager(repo, settings=settings) as m:
        for kind in ("cmd", "acp"):
            for source, agent, timeout, wording in (
                ("task", kind, 0.4, r"0\.4 s and was stopped \(raise the task's timeout_s"),
                ("profile", kind, None, rf"0\.6 s and was stopped \(raise timeout_s of agent "
                                        rf"'{kind}'"),
                ("default", f"{kind}-bare", None,
                 r"0\.5 s and was stopped \(raise default_timeout_s in the settings"),
            ):
                task = Task(id=f"{kind}-{source}", prompt="wait", timeout_s=timeout)
                await m.submit_task(task, agent)
                expected[task.id] = rf"agent '{agent}' did not finish within {wording}"
        await m.wait_for_completion(timeout=60)
        results = {r.task_id: r for r in m.get_results()}
    for task_id, wording in expected.items():
        assert results[task_id].status == TaskStatus.FAILED, task_id
        assert results[task_id].error is not None
        assert re.search(wording, results[task_id].error), (task_id, results[task_id].error)


async def test_profile_and_default_idle_limits_stop_both_agent_kinds(
    repo: Path, tmp_path: Path
) -> None:
    settings = Settings(
        sandbox_dir=str(tmp_path / "sandboxes"), default_idle_timeout_s=0.6,
        agents={
            "cmd": AgentProfile(kind="command", command=SLEEPER, idle_timeout_s=0.5),
            "acp-bare": AgentProfile(kind="acp", **ACP_HANG),
        },
    )
    async with ParallelTaskManager(repo, settings=settings) as m:
        await m.submit_task(Task(id="quiet-cmd", prompt="wait"), "cmd")
        await m.submit_task(Task(id="quiet-acp", prompt="wait"), "acp-bare")
        await m.wait_for_completion(timeout=60)
        results = {r.task_id: r for r in m.get_results()}
    assert results["quiet-cmd"].error == (
        "agent 'cmd' produced no output for 0.5 s; treated as hung "
        "(raise idle_timeout_s of agent 'cmd' if it needs longer)")
    assert results["quiet-acp"].error == (
        "agent 'acp-bare' produced no output for 0.6 s; treated as hung "
        "(raise default_idle_timeout_s in the settings if it needs longer)")
    log = (repo / ".yui" / "logs" / "quiet-acp.log").read_text()
    assert "no output or file activity for 0.6 s; stopped" in log
