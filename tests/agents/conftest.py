"""Shared set-up of the agents tests: fake CLIs on hand, runs collected into lists."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from yui_lsp.agents.base import AgentRun, Limits
from yui_lsp.config import AgentProfile
from yui_lsp.protocol import AgentOutput, Message, Task, TaskUpdate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAKE_KIRO = FIXTURES / "kiro-cli"


@dataclass
class Recorder:
    """Collects what an adapter emits."""

    messages: list[Message] = field(default_factory=list)

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def lines(self) -> list[str]:
        return [m.line for m in self.messages if isinstance(m, AgentOutput)]

    @property
    def updates(self) -> list[TaskUpdate]:
        return [m for m in self.messages if isinstance(m, TaskUpdate)]


@dataclass
class RunFactory:
    """Builds AgentRuns in a fresh sandbox folder under tmp_path (time limits as the
    coordinator would decide them; enforced only through ``agents.limits.run_limited``)."""

    tmp_path: Path
    recorder: Recorder = field(default_factory=Recorder)

    @property
    def workdir(self) -> Path:
        path = self.tmp_path / "sandbox"
        path.mkdir(exist_ok=True)
        return path

    def __call__(
        self,
        profile: AgentProfile,
        prompt: str = "",
        *,
        task: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        idle_timeout_s: float = 30.0,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> AgentRun:
        data: dict[str, Any] = {"id": "t1", "prompt": prompt, "agent": profile.kind}
        data.update(task or {})
        return AgentRun(
            task=Task.model_validate(data),
            workdir=self.workdir,
            profile=profile,
            agent_id="worker_1",
            emit=self.recorder,
            log_path=self.tmp_path / "logs" / "t1.log",
            env=env or {},
            **{"limits": Limits(wall_s=timeout_s, idle_s=idle_timeout_s), **kwargs},
        )


@pytest.fixture
def make_run(tmp_path: Path) -> RunFactory:
    return RunFactory(tmp_path)


@pytest.fixture
def kiro_profile() -> Callable[..., AgentProfile]:
    def build(**kwargs: Any) -> AgentProfile:
        return AgentProfile(kind="kiro", command=[str(FAKE_KIRO)], **kwargs)

    return build


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")


def all_dead(pids: list[int], within_s: float = 3.0) -> bool:
    """True once none of ``pids`` is alive (grandchildren die asynchronously after SIGKILL)."""
    deadline = time.monotonic() + within_s
    while any(pid_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
