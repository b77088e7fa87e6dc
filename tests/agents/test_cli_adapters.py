"""Gemini CLI, Aider and any-command adapters against their test doubles (real processes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.agents.conftest import FIXTURES, RunFactory
from yui_lsp.agents.aider import AiderAdapter
from yui_lsp.agents.command import CommandAdapter
from yui_lsp.agents.gemini import GeminiAdapter
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError

GEMINI = AgentProfile(kind="gemini", command=[str(FIXTURES / "gemini")])
AIDER = AgentProfile(kind="aider", command=[str(FIXTURES / "aider")])


async def test_gemini_stream_json_edits_and_stats(make_run: RunFactory) -> None:
    (make_run.workdir / "app.py").write_text("DEBUG = True\n")
    run = make_run(GEMINI, "write docs/readme.md: hi\nreplace app.py: True => False")
    outcome = await GeminiAdapter().run(run)
    assert (make_run.workdir / "app.py").read_text() == "DEBUG = False\n"
    assert outcome.files_reported == ["docs/readme.md", "app.py"]
    assert outcome.summary == "All done."
    assert outcome.metrics["total_tokens"] == 321 and outcome.metrics["tool_calls"] == 2
    assert make_run.recorder.updates[-1].files_modified == ["docs/readme.md", "app.py"]


async def test_gemini_error_result_fails(make_run: RunFactory) -> None:
    run = make_run(GEMINI, "write a.txt: x", env={"FAKE_GEMINI_MODE": "error"})
    with pytest.raises(AgentFailedError, match="reported a failure: tool write_file failed"):
        await GeminiAdapter().run(run)


async def test_gemini_exit_one_quotes_stderr(make_run: RunFactory) -> None:
    run = make_run(GEMINI, "x", env={"FAKE_GEMINI_MODE": "quota"})
    with pytest.raises(AgentFailedError, match=r"gemini failed \(exit 1\).*Quota exceeded"):
        await GeminiAdapter().run(run)


async def test_aider_gets_files_and_reports_applied_edits(make_run: RunFactory) -> None:
    (make_run.workdir / "calc.py").write_text("def add(a, b): return a - b\n")
    run = make_run(
        AIDER, "replace calc.py: a - b => a + b",
        task={"claims": ["calc.py", "tests/**"], "files": ["README.md"]},
    )
    assert AiderAdapter().argv(run)[-2:] == ["README.md", "calc.py"]
    outcome = await AiderAdapter().run(run)
    assert (make_run.workdir / "calc.py").read_text() == "def add(a, b): return a + b\n"
    assert outcome.files_reported == ["calc.py"]
    assert outcome.metrics["cost_usd"] == pytest.approx(0.03)


async def test_aider_crash(make_run: RunFactory) -> None:
    run = make_run(AIDER, "x", env={"FAKE_AIDER_MODE": "crash"})
    with pytest.raises(AgentFailedError, match=r"aider failed \(exit 1\).*litellm.APIError"):
        await AiderAdapter().run(run)


async def test_command_gets_prompt_as_last_argv_element(
    make_run: RunFactory, tmp_path: Path
) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        "import json, sys, pathlib\n"
        "pathlib.Path('argv.json').write_text(json.dumps(sys.argv[1:]))\n"
        "print('KEY: api_key=sk-abcdefghijklmnopqrstuvwx')\n"
    )
    profile = AgentProfile(
        kind="command", command=[sys.executable, str(script)], args=["--fast"],
        env={"SECRET_FOR_CHILD": "s3cr3t-value"},
    )
    prompt = "fix it; rm -rf / && echo $HOME"
    outcome = await CommandAdapter().run(make_run(profile, prompt))
    assert json.loads((make_run.workdir / "argv.json").read_text()) == ["--fast", prompt]
    # Secrets printed by an agent are redacted in messages and in the log.
    assert outcome.summary == "KEY: api_key=[redacted]"
    assert "sk-abc" not in (tmp_path / "logs/t1.log").read_text()


def test_missing_cli_names_env_var_and_install_hint() -> None:
    for kind, var, hint in (
        ("gemini", "YUI_GEMINI_CLI", "@google/gemini-cli"),
        ("aider", "YUI_AIDER_CLI", "aider-install"),
    ):
        profile = AgentProfile(kind=kind, command=[f"/nonexistent/{kind}"])  # type: ignore[arg-type]
        with pytest.raises(AgentUnavailableError, match=rf"set {var} or install .*{hint}"):
            (GeminiAdapter() if kind == "gemini" else AiderAdapter()).check_available(profile)
