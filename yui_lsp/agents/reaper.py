"""Ending every process an agent started, including the ones that left its process group.

Confined agents run in a PID namespace (see :mod:`yui_lsp.agents.confine`): the kernel ends
everything in it with the agent. Unconfined, a daemon that called ``setsid`` or
double-forked is no longer in the agent's process group, so it is found another way: every
agent process gets a random mark in its environment (inherited by all it starts), and when
the run ends every process carrying the mark, or working inside the sandbox, is SIGKILLed,
round after round until none is left. A process that clears its environment and leaves the
sandbox escapes this; docs/security.md names the limit (install bubblewrap).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Mapping
from pathlib import Path

#: The environment variable carrying a run's mark.
MARK_ENV = "YUI_RUN_MARK"
_ROUNDS = 20


def marked_env(env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """``env`` plus a fresh mark, and the mark."""
    mark = secrets.token_hex(12)
    return {**env, MARK_ENV: mark}, mark


def _carries(pid: str, needle: bytes, folder: str) -> bool:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as fh:
        if needle in b"\0" + fh.read():
            return True
    if folder:
        with contextlib.suppress(OSError):
            cwd = os.readlink(f"/proc/{pid}/cwd")
            return cwd == folder or cwd.startswith(folder + os.sep)
    return False


def _survivors(mark: str, folder: str) -> list[int]:
    needle = f"\0{MARK_ENV}={mark}\0".encode()
    me = str(os.getpid())
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and p != me]
    except OSError:
        return []
    return [int(p) for p in pids if _carries(p, needle, folder)]


def end_marked(mark: str, sandbox: Path | None = None) -> int:
    """SIGKILL every process carrying ``mark`` or working inside ``sandbox``; how many.

    Repeats while new ones appear (a process may fork while the last round kills).
    """
    folder = os.path.realpath(sandbox) if sandbox is not None else ""
    killed = 0
    for _ in range(_ROUNDS):
        found = _survivors(mark, folder)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        # A killed process may still show for a moment; the next round looks again.
        time.sleep(0.01)
    return killed
