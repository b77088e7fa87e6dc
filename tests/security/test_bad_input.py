"""Bad input ends as a clear error, never as "internal error", and leaves nothing broken:
long prompts, NUL bytes, an unusable sandbox_dir, an empty pattern, a plan with a byte order
mark, a runaway regex (bounded, and Ctrl-C works), and failures hidden by task_retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.agents.conftest import RunFactory
from tests.cli.conftest import cli_env, yui_argv
from tests.fixtures.real_cli import (
    CLAUDE,
    CODEX,
    INSTALL_HINT,
    claude_env,
    codex_env,
    codex_patch,
    scripted_server,
)
from tests.security.conftest_input import (  # noqa: F401
    Yui,
    git,
    repo_fixture,
    shell_task,
    write_plan,
    yui_fixture,
)
from yui_lsp.agents.claude import ClaudeAdapter
from yui_lsp.agents.cmdline import MAX_ARG_BYTES
from yui_lsp.agents.codex import CodexAdapter
from yui_lsp.agents.registry import adapter_for
from yui_lsp.config import AgentProfile
from yui_lsp.errors import PlanError

_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_BIG_PROMPT = "Rename old_name to new_name everywhere.\n" + "context line\n" * 25_000  # 325 KB


@pytest.fixture
def make_run(tmp_path: Path) -> RunFactory:
    return RunFactory(tmp_path)


def _clean(done_output: str) -> None:
    assert "internal error" not in done_output
    assert "Traceback" not in done_output


# --------------------------------------------------------------------------- long prompts


def test_a_long_prompt_to_an_argv_only_agent_is_a_clear_error(repo: Path, yui: Yui) -> None:
    plan = {"task": [{"id": "big", "agent": "kiro", "prompt": _BIG_PROMPT,
                      "claims": ["src/**"]}]}
    (repo / "plan.toml").write_text(
        "[[task]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in plan["task"][0].items()))
    done = yui("run", "plan.toml", env={"YUI_KIRO_CLI": str(_FIXTURES / "kiro-cli"),
                                        "KIRO_API_KEY": "test-key"})
    output = done.stdout + done.stderr
    assert done.code == 1
    _clean(output)
    assert "KB per argument" in output and "kiro-cli" in output
    assert git(repo, "status", "--porcelain") == "?? plan.toml\n"
    # The repository takes the next task as usual.
    write_plan(repo, shell_task("ok", "open('src/a.py', 'a').write('# ok\\n')", ["src/a.py"]),
               "ok.toml")
    assert yui("run", "ok.toml").code == 0


@pytest.mark.realcli
@pytest.mark.skipif(not CLAUDE.exists(), reason=f"Claude Code missing: {INSTALL_HINT}")
async def test_claude_gets_a_long_prompt_on_stdin(make_run: RunFactory, tmp_path: Path) -> None:
    script = {"claude": [{"name": "Write", "input": {"file_path": "{cwd}/done.txt",
                                                      "content": "read it all\n"}}],
              "final": "Done."}
    with scripted_server(tmp_path / "server", script) as (port, log):
        run = make_run(AgentProfile(kind="claude", command=[str(CLAUDE)]), _BIG_PROMPT,
                       env=claude_env(tmp_path / "home", port))
        assert ClaudeAdapter().stdin(run) == _BIG_PROMPT.encode()
        assert _BIG_PROMPT not in ClaudeAdapter().argv(run)
        await ClaudeAdapter().run(run)
    assert (make_run.workdir / "done.txt").read_text() == "read it all\n"
    first = json.loads(log.read_text().splitlines()[0])
    assert first["bytes"] > len(_BIG_PROMPT)  # the whole prompt reached the model


@pytest.mark.realcli
@pytest.mark.skipif(not CODEX.exists(), reason=f"Codex CLI missing: {INSTALL_HINT}")
async def test_codex_gets_a_long_prompt_on_stdin(make_run: RunFactory, tmp_path: Path) -> None:
    (make_run.workdir / "a.py").write_text("x = 1\n")
    script = {"codex": [codex_patch("a.py", "x = 1", "x = 2")], "final": "Changed x."}
    with scripted_server(tmp_path / "server", script) as (port, log):
        run = make_run(AgentProfile(kind="codex", command=[str(CODEX)]), _BIG_PROMPT,
                       env=codex_env(tmp_path / "codex-home", port))
        assert CodexAdapter().argv(run)[-1] == "-"
        await CodexAdapter().run(run)
    assert (make_run.workdir / "a.py").read_text() == "x = 2\n"
    first = json.loads(log.read_text().splitlines()[0])
    assert first["bytes"] > len(_BIG_PROMPT)


async def test_a_nul_byte_in_a_command_is_a_clear_error(make_run: RunFactory) -> None:
    profile = AgentProfile(kind="shell")
    run = make_run(profile, "", task={"command": ["sh", "-c", "echo a\0b > x"]})
    with pytest.raises(PlanError, match="argument 2 of the sh command holds a NUL byte"):
        await adapter_for(profile).run(run)
    assert not (make_run.workdir / "x").exists()


async def test_an_argument_over_the_os_limit_is_a_clear_error(make_run: RunFactory) -> None:
    profile = AgentProfile(kind="shell")
    run = make_run(profile, "", task={"command": ["echo", "x" * (MAX_ARG_BYTES + 1)]})
    with pytest.raises(PlanError, match="KB per argument"):
        await adapter_for(profile).run(run)


def test_a_nul_byte_in_a_plan_command_fails_the_task_clearly(repo: Path, yui: Yui) -> None:
    (repo / "plan.toml").write_text('[[task]]\nid = "nul"\nagent = "shell"\n'
                                    'command = ["sh", "-c", "echo \\u0000x"]\n'
                                    'claims = ["src/**"]\n')
    done = yui("run", "plan.toml")
    assert done.code == 1
    _clean(done.stdout + done.stderr)
    assert "NUL byte" in done.stdout


# --------------------------------------------------------------------------- configuration


def test_a_sandbox_dir_that_cannot_be_used_is_a_clear_error(repo: Path, yui: Yui) -> None:
    (repo / ".yui").mkdir(mode=0o700)
    (repo / ".yui" / "config.toml").write_text('sandbox_dir = "/proc/1"\n')
    write_plan(repo, shell_task("t", "print(1)", ["src/**"]))
    done = yui("run", "plan.toml")
    assert done.code == 2
    _clean(done.stdout + done.stderr)
    assert "cannot keep sandboxes in /proc/1" in done.stderr and "sandbox_dir" in done.stderr


def test_an_empty_pattern_is_a_clear_error(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--pattern", "", "--replacement", "x", "--files", "src/**")
    assert done.code == 2
    _clean(done.stdout + done.stderr)
    assert done.stderr.strip() == (
        "yui: error: --pattern is empty: give the text (with --regex, the regular expression) "
        "to replace")


def test_a_plan_and_a_config_starting_with_a_byte_order_mark_are_read(
    repo: Path, yui: Yui
) -> None:
    bom = b"\xef\xbb\xbf"
    plan = shell_task("bom", "open('src/a.py', 'a').write('# bom\\n')", ["src/a.py"])
    (repo / "plan.toml").write_bytes(bom + plan.encode())
    (repo / ".yui").mkdir(mode=0o700)
    (repo / ".yui" / "config.toml").write_bytes(bom + b"max_workers = 2\n")
    done = yui("run", "plan.toml")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src" / "a.py").read_text() == "A = 1\n# bom\n"


# --------------------------------------------------------------------------- runaway regex


def _runaway(repo: Path) -> None:
    (repo / "src" / "aaa.txt").write_text("a" * 40 + "b\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "aaa")


def test_a_runaway_regex_is_stopped_after_its_budget(repo: Path, yui: Yui) -> None:
    _runaway(repo)
    done = yui("refactor", "--regex", "--pattern", "(a+)+$", "--replacement", "x",
               "--files", "src/**", env={"YUI_REGEX_TIMEOUT_S": "1"})
    assert done.code == 2
    _clean(done.stdout + done.stderr)
    assert "ran for more than 1 s on src/aaa.txt" in done.stderr
    assert (repo / "src" / "aaa.txt").read_text() == "a" * 40 + "b\n"


def _matching(process: psutil.Process) -> bool:
    """Whether ``process`` has started its regex child (``python -I -S -c ...``)."""
    for child in process.children():
        try:
            if "-S" in child.cmdline():
                return True
        except psutil.Error:
            continue  # a helper that just ended
    return False


def test_ctrl_c_stops_a_runaway_regex(repo: Path, tmp_path: Path) -> None:
    _runaway(repo)
    yui = subprocess.Popen(
        yui_argv("refactor", "--regex", "--pattern", "(a+)+$", "--replacement", "x",
                 "--files", "src/**"),
        cwd=repo, env={**cli_env(tmp_path), "YUI_REGEX_TIMEOUT_S": "600"},
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        process = psutil.Process(yui.pid)
        # Wait until the matching runs (in its child process), then press Ctrl-C: the
        # terminal sends SIGINT to the whole foreground process group.
        while not _matching(process):
            assert yui.poll() is None, yui.communicate()
        os.killpg(yui.pid, signal.SIGINT)
        out, err = yui.communicate(timeout=60)  # far below the 600 s budget
    finally:
        if yui.poll() is None:
            os.killpg(yui.pid, signal.SIGKILL)
    assert yui.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert (repo / "src" / "aaa.txt").read_text() == "a" * 40 + "b\n"


def test_a_regex_refactor_still_replaces(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--regex", "--pattern", r"^([AB]) = (\d)$", "--replacement",
               r"\1 = \2\2", "--files", "src/**")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src" / "a.py").read_text() == "A = 11\n"
    assert (repo / "src" / "b.py").read_text() == "B = 22\n"


# --------------------------------------------------------------------------- summaries


def test_task_retention_does_not_hide_failures(repo: Path, yui: Yui) -> None:
    tasks = "".join(
        shell_task(f"t{i:02d}", "raise SystemExit(3)" if i < 10 else
                   f"open('out{i}.txt', 'w').write('{i}')", [f"out{i}.txt"])
        for i in range(30))
    write_plan(repo, "max_workers = 4\n\n" + tasks)
    (repo / ".yui").mkdir(mode=0o700)
    (repo / ".yui" / "config.toml").write_text("task_retention = 10\n")
    done = yui("run", "plan.toml", timeout=300)
    assert done.code == 1, done.stdout + done.stderr
    failures = [line for line in done.stdout.splitlines() if "failed —" in line]
    assert "20 completed" in done.stdout and "10 failed" in done.stdout, failures
