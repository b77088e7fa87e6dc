"""agents.limits.run_limited: the one place a run's wall clock and idle limit are enforced."""

from __future__ import annotations

import anyio
import pytest

from tests.agents.conftest import RunFactory
from yui_lsp.agents.base import AgentOutcome, AgentRun, Limits
from yui_lsp.agents.limits import run_limited
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError

PROFILE = AgentProfile(kind="shell")


class Waiter:
    """An in-process agent that waits ``seconds`` silently, optionally as a bounded wait
    (as Yui's worker does around a model call), or fails the way ``error`` says."""

    kind = "shell"

    def __init__(self, seconds: float, *, bounded: bool = False,
                 error: Exception | None = None) -> None:
        self.seconds, self.bounded, self.error = seconds, bounded, error

    def check_available(self, profile: AgentProfile) -> None:
        """Always available."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        if self.bounded:
            with run.liveness.bounded_wait():
                await anyio.sleep(self.seconds)
        else:
            await anyio.sleep(self.seconds)
        if self.error is not None:
            raise self.error
        return AgentOutcome(summary="done")


async def test_silence_past_the_idle_limit_is_a_hang(make_run: RunFactory) -> None:
    run = make_run(PROFILE, limits=Limits(idle_s=0.4, idle_from="idle_timeout_s of agent 'x'"))
    with pytest.raises(AgentFailedError, match=r"^agent 'shell' produced no output for 0.4 s; "
                       r"treated as hung \(raise idle_timeout_s of agent 'x' if it needs"):
        await run_limited(Waiter(5), run)


async def test_a_bounded_wait_is_not_a_hang(make_run: RunFactory) -> None:
    run = make_run(PROFILE, limits=Limits(idle_s=0.3))
    outcome = await run_limited(Waiter(1.0, bounded=True), run)
    assert outcome.summary == "done"


async def test_the_wall_clock_ends_even_a_bounded_wait(make_run: RunFactory) -> None:
    run = make_run(PROFILE, limits=Limits(wall_s=0.3, wall_from="default_timeout_s"))
    with pytest.raises(AgentFailedError, match=r"did not finish within 0.3 s and was stopped "
                       r"\(raise default_timeout_s if it needs longer\)"):
        await run_limited(Waiter(5, bounded=True), run)
    assert run.log_path is not None
    assert "wall-clock limit of 0.3 s reached; stopped" in run.log_path.read_text()


async def test_the_agents_own_error_comes_out_bare(make_run: RunFactory) -> None:
    run = make_run(PROFILE, limits=Limits(wall_s=5, idle_s=5))
    with pytest.raises(AgentUnavailableError, match=r"^nope$"):
        await run_limited(Waiter(0, error=AgentUnavailableError("nope")), run)
