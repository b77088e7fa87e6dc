"""The ACP client against a real ACP agent process (tests/fixtures/acp_agent.py, started as
``kiro-cli acp`` by the Kiro test double): files go through fs/* and the sandbox only."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from tests.agents.conftest import FAKE_KIRO, RunFactory, all_dead
from yui_lsp.agents.acp_client import AcpAdapter
from yui_lsp.agents.limits import run_limited
from yui_lsp.agents.registry import adapter_for
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, LeaseError

ACP = AgentProfile(kind="kiro-acp", command=[str(FAKE_KIRO), "acp"])


async def test_edits_through_fs_methods_with_progress(make_run: RunFactory) -> None:
    (make_run.workdir / "src").mkdir()
    (make_run.workdir / "src/app.py").write_text("VERSION = 1\n")
    prompt = "write src/new.py: print('new')\\n\nreplace src/app.py: VERSION = 1 => VERSION = 2"
    run = make_run(ACP, prompt, task={"claims": ["src/**"]})
    outcome = await adapter_for(ACP).run(run)

    assert (make_run.workdir / "src/new.py").read_text() == "print('new')\n"
    assert (make_run.workdir / "src/app.py").read_text() == "VERSION = 2\n"
    assert outcome.files_reported == ["src/new.py", "src/app.py"]
    assert outcome.summary == "Done"
    lines = make_run.recorder.lines
    assert "Write src/new.py" in lines and "Replace src/app.py" in lines
    assert any(line.startswith("plan 0/2") for line in lines)
    assert make_run.recorder.updates[-1].files_modified == ["src/new.py", "src/app.py"]


async def test_edit_outside_claims_is_rejected_by_policy(make_run: RunFactory) -> None:
    run = make_run(ACP, "write src/ok.py: ok\nwrite docs/no.md: no", task={"claims": ["src/**"]})
    outcome = await AcpAdapter("kiro-acp").run(run)
    assert (make_run.workdir / "src/ok.py").exists()
    assert not (make_run.workdir / "docs/no.md").exists()
    assert outcome.files_reported == ["src/ok.py"]
    assert any("permission refused: write docs/no.md" in line for line in make_run.recorder.lines)


async def test_allow_policy_permits_edits_outside_claims(make_run: RunFactory) -> None:
    profile = ACP.model_copy(update={"permission_policy": "allow"})
    run = make_run(profile, "write docs/yes.md: yes", task={"claims": ["src/**"]})
    await AcpAdapter("kiro-acp").run(run)
    assert (make_run.workdir / "docs/yes.md").read_text() == "yes"


async def test_write_outside_sandbox_is_refused(make_run: RunFactory, tmp_path: Path) -> None:
    profile = ACP.model_copy(update={"permission_policy": "allow"})
    run = make_run(profile, "write ../escaped.txt: gotcha\nwrite inside.txt: fine")
    outcome = await AcpAdapter("kiro-acp").run(run)
    assert not (tmp_path / "escaped.txt").exists()
    assert outcome.files_reported == ["inside.txt"]


async def test_write_guard_is_asked_and_can_refuse(make_run: RunFactory) -> None:
    asked: list[str] = []

    async def guard(rel: str) -> None:
        asked.append(rel)
        if rel == "locked.py":
            raise LeaseError("locked.py is leased by task other-123")

    run = make_run(ACP, "write free.py: a\nwrite locked.py: b", write_guard=guard)
    outcome = await AcpAdapter("kiro-acp").run(run)
    assert asked == ["free.py", "locked.py"]
    assert (make_run.workdir / "free.py").exists()
    assert not (make_run.workdir / "locked.py").exists()
    assert outcome.metrics["refused"] == 1


async def test_agent_crash_is_a_clear_failure(make_run: RunFactory) -> None:
    run = make_run(ACP, "write a.py: x", env={"FAKE_ACP_MODE": "crash"})
    with pytest.raises(AgentFailedError, match=r"exited \(code 7\) before finishing its turn"):
        await AcpAdapter("kiro-acp").run(run)


async def test_cancel_sends_session_cancel_and_ends_process(make_run: RunFactory) -> None:
    run = make_run(ACP, "write a.py: x", env={"FAKE_ACP_MODE": "hang"})
    started = time.monotonic()
    with anyio.move_on_after(1.0) as scope:
        await AcpAdapter("kiro-acp").run(run)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 6
    assert not (make_run.workdir / "a.py").exists()


async def test_silent_agent_is_hung(make_run: RunFactory) -> None:
    run = make_run(ACP, "write a.py: x", env={"FAKE_ACP_MODE": "hang"}, idle_timeout_s=1.0)
    with pytest.raises(AgentFailedError, match="treated as hung"):
        await run_limited(AcpAdapter("kiro-acp"), run)


async def test_group_is_gone_after_run(make_run: RunFactory) -> None:
    run = make_run(ACP, "write a.py: x")
    await AcpAdapter("kiro-acp").run(run)
    # The agent's process ended with the session: nothing of ours runs in the sandbox.
    assert all_dead(_agents_in(make_run.workdir))


def _agents_in(workdir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "cwd").resolve() == workdir.resolve():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids
