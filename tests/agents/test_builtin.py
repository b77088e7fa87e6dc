"""Built-in workers: refactor (exact replacement over the sandbox), shell, yui."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.agents.conftest import RunFactory
from yui_lsp.agents.builtin import RefactorAdapter, ShellAdapter, YuiAdapter, refactor_text
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError
from yui_lsp.protocol import RefactorSpec

YUI = AgentProfile(kind="yui")


def spec(pattern: str, replacement: str, **kw: object) -> dict[str, object]:
    return {"refactor": {"pattern": pattern, "replacement": replacement, **kw}}


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


async def test_refactor_rewrites_claimed_files_only(make_run: RunFactory) -> None:
    root = make_run.workdir
    (root / "src/pkg").mkdir(parents=True)
    (root / "src/a.py").write_text("old_name()\r\nold_name()\r\n")  # CRLF stays CRLF
    (root / "src/pkg/b.py").write_text("x = old_name\n")
    (root / "src/pkg/c.py").write_text("untouched\n")
    (root / "src/blob.bin").write_bytes(b"\x00old_name\x00")
    (root / "src/latin1.py").write_bytes("old_name = 'caf\xe9'".encode("latin-1"))
    (root / "docs.md").write_text("old_name\n")
    (root / "src/a.py").chmod(0o755)
    run = make_run(YUI, task={"claims": ["src/**"], **spec("old_name", "new_name")})

    outcome = await YuiAdapter().run(run)

    assert (root / "src/a.py").read_bytes() == b"new_name()\r\nnew_name()\r\n"
    assert (root / "src/a.py").stat().st_mode & 0o777 == 0o755
    assert (root / "src/pkg/b.py").read_text() == "x = new_name\n"
    assert (root / "docs.md").read_text() == "old_name\n"
    assert (root / "src/blob.bin").read_bytes() == b"\x00old_name\x00"
    assert outcome.files_reported == ["src/a.py", "src/pkg/b.py"]
    assert outcome.metrics["replacements"] == 3
    notes = make_run.recorder.lines
    assert "[yui] skipped src/blob.bin (binary)" in notes
    assert "[yui] skipped src/latin1.py (not UTF-8)" in notes
    assert not list(root.rglob("*.yui-tmp"))


async def test_refactor_files_override_claims(make_run: RunFactory) -> None:
    (make_run.workdir / "a.txt").write_text("foo")
    (make_run.workdir / "b.txt").write_text("foo")
    run = make_run(YUI, task={"claims": ["a.txt"], **spec("foo", "bar", files=["b.txt"])})
    outcome = await RefactorAdapter().run(run)
    assert outcome.files_reported == ["b.txt"]
    assert (make_run.workdir / "a.txt").read_text() == "foo"


async def test_refactor_needs_files(make_run: RunFactory) -> None:
    with pytest.raises(AgentFailedError, match="needs files to rewrite"):
        await RefactorAdapter().run(make_run(YUI, task=spec("a", "b")))


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
    for adapter in (YuiAdapter(), ShellAdapter(), RefactorAdapter()):
        adapter.check_available(YUI)
