"""Kiro headless adapter against the Kiro CLI test double (real process, real files)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.agents.conftest import RunFactory, all_dead
from yui_lsp.agents.kiro import KiroAdapter, parse_credits
from yui_lsp.agents.limits import run_limited
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError

KEY = {"KIRO_API_KEY": "test-key"}
ProfileFactory = Callable[..., AgentProfile]


async def test_edits_sandbox_and_reports_credits(
    make_run: RunFactory, kiro_profile: ProfileFactory, tmp_path: Path
) -> None:
    argv_log = tmp_path / "argv.json"
    prompt = (
        "Add a greeting.\nwrite src/hello.py: print('hi')\\n\nand nothing else; $(rm -rf /) `x`"
    )
    run = make_run(
        kiro_profile(agent_name="backend", model="claude-sonnet-4"),
        prompt,
        env={**KEY, "FAKE_KIRO_ARGV_LOG": str(argv_log)},
    )
    outcome = await KiroAdapter().run(run)

    assert (make_run.workdir / "src/hello.py").read_text() == "print('hi')\n"
    assert outcome.files_reported == ["src/hello.py"]
    assert outcome.metrics["credits"] == pytest.approx(0.21)
    assert outcome.metrics["time_s"] >= 1
    # The prompt travels as one argv element, untouched by any shell.
    argv = json.loads(argv_log.read_text())
    assert argv[:4] == ["chat", "--no-interactive", "--trust-all-tools", "--agent"]
    assert argv[4:7] == ["backend", "--model", "claude-sonnet-4"]
    assert argv[-1] == prompt
    # Narration arrives ANSI-free, and progress names the latest file action.
    assert "● Creating: src/hello.py" in make_run.recorder.lines
    assert not any("\x1b" in line for line in make_run.recorder.lines)
    last = make_run.recorder.updates[-1]
    assert last.status == "running" and 0 < last.progress < 1
    assert last.files_modified == ["src/hello.py"]
    log = (tmp_path / "logs/t1.log").read_text()
    assert "Credits: 0.21" in log


async def test_device_login_fails_fast_instead_of_hanging(
    make_run: RunFactory, kiro_profile: ProfileFactory
) -> None:
    run = make_run(kiro_profile(), "write a.txt: x", env={"KIRO_API_KEY": ""})
    started = time.monotonic()
    with pytest.raises(AgentFailedError, match="not signed in: set KIRO_API_KEY or run"):
        await KiroAdapter().run(run)
    assert time.monotonic() - started < 5
    assert not (make_run.workdir / "a.txt").exists()


async def test_bad_key_exit_zero_is_a_failure(
    make_run: RunFactory, kiro_profile: ProfileFactory
) -> None:
    run = make_run(kiro_profile(), "write a.txt: x", env={"KIRO_API_KEY": "bad"})
    with pytest.raises(AgentFailedError, match=r"rejected its credential.*KIRO_API_KEY"):
        await KiroAdapter().run(run)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("agent_missing", r"Kiro agent 'ghost' not found \(exit 4\).*kiro-cli agent create"),
        ("mcp_fail", r"exit 3.*MCP server 'github' failed.*required MCP server failed"),
        ("noop", r"exited 0 but printed no credits trailer: no proof a turn ran"),
        ("crash", r"kiro-cli failed \(killed by SIGABRT\).*Reading the workspace"),
    ],
)
async def test_failures_become_clear_errors(
    make_run: RunFactory, kiro_profile: ProfileFactory, mode: str, message: str
) -> None:
    run = make_run(kiro_profile(agent_name="ghost"), "x", env={**KEY, "FAKE_KIRO_MODE": mode})
    with pytest.raises(AgentFailedError, match=message):
        await KiroAdapter().run(run)


async def test_write_outside_sandbox_fails_the_task(
    make_run: RunFactory, kiro_profile: ProfileFactory
) -> None:
    run = make_run(kiro_profile(), "x", env={**KEY, "FAKE_KIRO_MODE": "escape"})
    with pytest.raises(AgentFailedError, match=r"outside its sandbox.*escaped-by-kiro\.txt"):
        await KiroAdapter().run(run)


async def test_hang_is_detected_and_whole_group_killed(
    make_run: RunFactory, kiro_profile: ProfileFactory, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    env = {**KEY, "FAKE_KIRO_MODE": "hang", "FAKE_KIRO_PIDFILE": str(pidfile)}
    # Unconfined: the pids the double writes are then the machine's.
    run = make_run(kiro_profile(confine="off"), "x", env=env, idle_timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(AgentFailedError, match=r"no output for 1.5 s; treated as hung"):
        await run_limited(KiroAdapter(), run)
    assert time.monotonic() - started < 8
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2 and all_dead(pids)


async def test_cancellation_ends_process_group(
    make_run: RunFactory, kiro_profile: ProfileFactory, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    env = {**KEY, "FAKE_KIRO_MODE": "hang", "FAKE_KIRO_PIDFILE": str(pidfile)}
    run = make_run(kiro_profile(confine="off"), "x", env=env)
    with anyio.move_on_after(1.5) as scope:
        await KiroAdapter().run(run)
    assert scope.cancelled_caught
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2 and all_dead(pids)


async def test_wall_clock_timeout(make_run: RunFactory, kiro_profile: ProfileFactory) -> None:
    run = make_run(kiro_profile(), "x", env={**KEY, "FAKE_KIRO_MODE": "hang"}, timeout_s=1.0)
    with pytest.raises(AgentFailedError, match=r"did not finish within 1 s"):
        await run_limited(KiroAdapter(), run)
    assert run.log_path is not None
    assert "wall-clock limit of 1 s reached; stopped" in run.log_path.read_text()


async def test_quiet_file_activity_is_not_a_hang(
    make_run: RunFactory, kiro_profile: ProfileFactory
) -> None:
    # 3 s of silence while editing files, with a 1.2 s idle timeout.
    run = make_run(
        kiro_profile(), "x", env={**KEY, "FAKE_KIRO_MODE": "quiet_edit"}, idle_timeout_s=1.2
    )
    outcome = await run_limited(KiroAdapter(), run)
    assert outcome.metrics["credits"] > 0
    assert (make_run.workdir / "progress.txt").read_text() == "step 5\n"


@pytest.mark.slow
async def test_flood_is_capped_in_messages_and_log(
    make_run: RunFactory, kiro_profile: ProfileFactory, tmp_path: Path
) -> None:
    run = make_run(
        kiro_profile(),
        "x",
        env={**KEY, "FAKE_KIRO_MODE": "flood", "FAKE_KIRO_FLOOD_LINES": "60000"},
        log_max_bytes=200_000,
    )
    outcome = await KiroAdapter().run(run)
    assert outcome.metrics["credits"] > 0  # the trailer after the flood was still seen
    assert len(make_run.recorder.lines) <= 5000
    assert (tmp_path / "logs/t1.log").stat().st_size < 210_000


async def test_binary_output_becomes_printable_lines(
    make_run: RunFactory, kiro_profile: ProfileFactory
) -> None:
    env = {**KEY, "FAKE_KIRO_MODE": "binary"}
    run = make_run(kiro_profile(), "x", env=env, output_line_max=200)
    await KiroAdapter().run(run)
    lines = make_run.recorder.lines
    assert all(line.isprintable() for line in lines)
    assert all(len(line) <= 200 + 30 for line in lines)
    assert any("garbage" in line and "red" in line for line in lines)


def test_missing_executable_names_the_variable(tmp_path: Path) -> None:
    profile = AgentProfile(kind="kiro", command=["kiro-cli-not-installed"])
    with pytest.raises(AgentUnavailableError, match=r"not found on PATH \(set YUI_KIRO_CLI"):
        KiroAdapter().check_available(profile)


def test_parse_credits_units() -> None:
    assert parse_credits(" ▸ Credits: 0.21 • Time: 17s") == {"credits": 0.21, "time_s": 17.0}
    assert parse_credits("▸ Credits: 1.5 • Time: 2m") == {"credits": 1.5, "time_s": 120.0}
    assert parse_credits("no trailer here") is None
