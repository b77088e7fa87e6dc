"""Agent processes start in a worker thread and are awaited without a watcher thread
(agents/spawn.py): the event loop keeps running while a process starts."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from yui_lsp.agents import spawn as spawn_module
from yui_lsp.agents.spawn import spawn


async def test_the_loop_runs_while_the_process_starts(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    loop_ran = threading.Event()
    real_popen = subprocess.Popen

    def popen_waiting_for_the_loop(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        # Started on the event loop, this would wait forever: the loop could not run.
        assert loop_ran.wait(timeout=20), "the event loop was held while the process started"
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(spawn_module.subprocess, "Popen", popen_waiting_for_the_loop)

    async def meanwhile() -> None:
        await anyio.sleep(0)
        loop_ran.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(meanwhile)
        process = await spawn([sys.executable, "-c", "print('hi')"], cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin"}, stdin=False)
    assert await process.wait() == 0
    assert await process.stdout.read() == b"hi\n"
    await process.aclose()


async def test_stdin_output_and_exit_code(tmp_path: Path) -> None:
    code = "import sys; data = sys.stdin.read(); print(data.upper()); " \
           "print('err', file=sys.stderr); sys.exit(3)"
    process = await spawn([sys.executable, "-c", code], cwd=tmp_path, env={}, stdin=True)
    assert process.stdin is not None
    process.stdin.write(b"prompt")
    await process.stdin.drain()
    process.stdin.close()
    assert await process.wait() == 3 and process.returncode == 3
    assert await process.stdout.read() == b"PROMPT\n"
    assert await process.stderr.read() == b"err\n"
    await process.aclose()


async def test_a_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await spawn([str(tmp_path / "no-such-agent")], cwd=tmp_path, env={}, stdin=False)


async def test_the_exit_is_seen_without_a_pidfd(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    def no_pidfd(pid: int) -> int:
        raise OSError("pidfd_open is not available here")

    monkeypatch.setattr(spawn_module.os, "pidfd_open", no_pidfd)
    process = await spawn([sys.executable, "-c", "raise SystemExit(5)"], cwd=tmp_path,
                          env={}, stdin=False)
    with anyio.fail_after(20):
        assert await process.wait() == 5
    await process.aclose()
