"""The real Claude Code and Codex binaries from npm, driven through the adapters by the
scripted model server on 127.0.0.1: they really edit the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.conftest import RunFactory
from tests.fixtures.real_cli import (
    CLAUDE,
    CODEX,
    INSTALL_HINT,
    claude_env,
    codex_env,
    codex_patch,
    scripted_server,
)
from yui_lsp.agents.claude import ClaudeAdapter
from yui_lsp.agents.codex import CodexAdapter
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError

pytestmark = pytest.mark.realcli
needs_codex = pytest.mark.skipif(not CODEX.exists(), reason=f"Codex CLI missing: {INSTALL_HINT}")
needs_claude = pytest.mark.skipif(
    not CLAUDE.exists(), reason=f"Claude Code missing: {INSTALL_HINT}"
)


@needs_codex
async def test_codex_edits_sandbox_and_reports_file_change(
    make_run: RunFactory, tmp_path: Path
) -> None:
    (make_run.workdir / "a.py").write_text("x = 1\n")
    script = {"codex": [codex_patch("a.py", "x = 1", "x = 2")], "final": "Changed x."}
    with scripted_server(tmp_path / "server", script) as (port, log):
        run = make_run(
            AgentProfile(kind="codex", command=[str(CODEX)]), "Set x to 2 in a.py",
            env=codex_env(tmp_path / "codex-home", port),
        )
        outcome = await CodexAdapter().run(run)
    assert (make_run.workdir / "a.py").read_text() == "x = 2\n"
    assert outcome.files_reported == ["a.py"]
    assert outcome.summary == "Changed x."
    assert outcome.metrics["turns"] == 1 and outcome.metrics["input_tokens"] > 0
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["path"] for r in requests] == ["/v1/responses", "/v1/responses"]
    assert make_run.recorder.updates[-1].files_modified == ["a.py"]


@needs_codex
async def test_codex_failed_turn_is_a_clear_failure(make_run: RunFactory, tmp_path: Path) -> None:
    script = {"fail": "the model refused: quota exhausted"}
    with scripted_server(tmp_path / "server", script) as (port, _log):
        run = make_run(
            AgentProfile(kind="codex", command=[str(CODEX)], timeout_s=60), "anything",
            env=codex_env(tmp_path / "codex-home", port),
        )
        with pytest.raises(AgentFailedError, match="quota exhausted"):
            await CodexAdapter().run(run)
    assert list(make_run.workdir.iterdir()) == []


@needs_claude
async def test_claude_writes_and_edits_in_sandbox(make_run: RunFactory, tmp_path: Path) -> None:
    (make_run.workdir / "b.py").write_text("y = 1\n")
    script = {
        "claude": [
            {"name": "Write", "input": {"file_path": "{cwd}/new.py", "content": "print('new')\n"}},
            {"name": "Read", "input": {"file_path": "{cwd}/b.py"}},
            {"name": "Edit", "input": {"file_path": "{cwd}/b.py", "old_string": "y = 1",
                                       "new_string": "y = 2"}},
        ],
        "final": "Created new.py and bumped y.",
    }
    with scripted_server(tmp_path / "server", script) as (port, _log):
        run = make_run(
            AgentProfile(kind="claude", command=[str(CLAUDE)]), "Create new.py; set y to 2",
            env=claude_env(tmp_path / "home", port),
        )
        outcome = await ClaudeAdapter().run(run)
    assert (make_run.workdir / "new.py").read_text() == "print('new')\n"
    assert (make_run.workdir / "b.py").read_text() == "y = 2\n"
    assert outcome.files_reported == ["new.py", "b.py"]
    assert outcome.summary == "Created new.py and bumped y."
    assert outcome.metrics["turns"] == 4
    assert outcome.metrics["cost_usd"] > 0


@needs_claude
async def test_claude_write_outside_sandbox_fails_task(
    make_run: RunFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    script = {"claude": [{"name": "Write", "input": {"file_path": str(outside), "content": "x"}}]}
    with scripted_server(tmp_path / "server", script) as (port, _log):
        run = make_run(
            AgentProfile(kind="claude", command=[str(CLAUDE)]), "write outside",
            env=claude_env(tmp_path / "home", port),
        )
        with pytest.raises(AgentFailedError, match="outside its sandbox"):
            await ClaudeAdapter().run(run)


@needs_claude
async def test_claude_tool_errors_are_kept_for_a_run_that_changed_nothing(
    make_run: RunFactory, tmp_path: Path
) -> None:
    (make_run.workdir / "b.py").write_text("y = 1\n")
    script = {
        "claude": [
            {"name": "Edit", "input": {"file_path": "{cwd}/b.py", "old_string": "no such text",
                                       "new_string": "y = 2"}},
        ],
        "final": "I could not edit b.py.",
    }
    with scripted_server(tmp_path / "server", script) as (port, _log):
        run = make_run(
            AgentProfile(kind="claude", command=[str(CLAUDE)]), "Set y to 2",
            env=claude_env(tmp_path / "home", port),
        )
        outcome = await ClaudeAdapter().run(run)
    assert (make_run.workdir / "b.py").read_text() == "y = 1\n"
    assert outcome.failures and outcome.failures[0].startswith("tool error: ")
