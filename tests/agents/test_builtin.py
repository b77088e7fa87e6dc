"""Built-in workers: the exact refactor replacement, shell, yui."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.agents.conftest import RunFactory
from yui_lsp.agents.builtin import ShellAdapter, YuiAdapter, refactor_text
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError
from yui_lsp.protocol import RefactorSpec

YUI = AgentProfile(kind="yui")


@given(st.text(), st.text(min_size=1, max_size=3), st.text(max_size=3))
def test_literal_refactor_is_str_replace(text: str, pattern: str, replacement: str) -> None:
    new, count = refactor_text(text, RefactorSpec(pattern=pattern, replacement=replacement))
    assert new == text.replace(pattern, replacement)
    assert count == text.count(pattern)


def test_regex_refactor_with_groups() -> None:
    rule = RefactorSpec(pattern=r"print (\w+)", replacement=r"print(\1)", regex=True)
    assert refactor_text("print a\nprint b\n", rule) == ("print(a)\nprint(b)\n", 2)
    with pytest.raises(AgentFailedError, match="invalid refactor pattern"):
        refactor_text("x", RefactorSpec(pattern="(", replacement="", regex=True))


async def test_shell_runs_argv_in_sandbox(make_run: RunFactory) -> None:
    code = "import pathlib, sys; pathlib.Path('gen.txt').write_text(sys.argv[1]); print('made')"
    arg = "$(touch pwned) `touch pwned2` ; touch pwned3"
    run = make_run(YUI, task={"command": [sys.executable, "-c", code, arg]})
    outcome = await YuiAdapter().run(run)
    assert (make_run.workdir / "gen.txt").read_text() == arg
    assert not list(make_run.workdir.glob("pwned*"))
    assert outcome.summary == "made"


async def test_shell_reads_nothing_from_stdin(make_run: RunFactory) -> None:
    # stdin is /dev/null: a command that reads it sees EOF at once instead of hanging.
    code = "import sys; print(repr(sys.stdin.read()))"
    run = make_run(YUI, task={"command": [sys.executable, "-c", code]})
    outcome = await ShellAdapter().run(run)
    assert outcome.summary == "''"


async def test_shell_failure_quotes_stderr(make_run: RunFactory) -> None:
    code = "import sys; sys.stderr.write('formatter: bad syntax at x.py:3\\n'); sys.exit(2)"
    run = make_run(YUI, task={"command": [sys.executable, "-c", code]})
    with pytest.raises(AgentFailedError, match=r"failed \(exit 2\): formatter: bad syntax"):
        await ShellAdapter().run(run)


async def test_shell_missing_command(make_run: RunFactory) -> None:
    run = make_run(YUI, task={"command": ["definitely-not-a-command-xyz"]})
    with pytest.raises(AgentUnavailableError, match="cannot start definitely-not-a-command-xyz"):
        await ShellAdapter().run(run)
    # `yui logs` shows why, not only the attempt's header.
    assert run.log_path is not None
    assert "cannot start definitely-not-a-command-xyz" in run.log_path.read_text()


async def test_yui_without_a_command_needs_a_model(make_run: RunFactory) -> None:
    # No command and no refactor: the prompt goes to the model worker, which has no model.
    with pytest.raises(AgentUnavailableError, match="no model configured"):
        await YuiAdapter().run(make_run(YUI, "do something"))


def test_builtins_are_always_available(tmp_path: Path) -> None:
    for adapter in (YuiAdapter(), ShellAdapter()):
        adapter.check_available(YUI)
