"""Helpers shared by the test folders: real git repositories and waiting for a condition."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil
import pytest


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its stdout (raises on failure)."""
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def init_repo(root: Path, files: Mapping[str, str]) -> Path:
    """A git repository at ``root`` holding ``files`` (path → text) in one commit."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def pid_running(marker: str, timeout: float = 30.0) -> int:
    """The pid, as this machine sees it, of the agent process with ``marker`` in its argv.

    A confined agent runs in a PID namespace, so the pid it sees itself is not this one;
    bwrap (whose argv holds the agent's) is left out.
    """
    found: list[int] = []

    def look() -> bool:
        for proc in psutil.process_iter(["cmdline"]):
            argv = proc.info["cmdline"] or []
            if marker in argv[1:] and "bwrap" not in Path(argv[0]).name:
                found.append(proc.pid)
                return True
        return False

    wait_for(look, timeout)
    return found[0]


def _why_no_bwrap() -> str | None:
    from yui_lsp.agents.confine import bwrap_executable, probe

    bwrap = bwrap_executable()
    if bwrap is None:
        return "bwrap not installed (apt-get install bubblewrap; scripts/test.sh does it)"
    return probe(bwrap)


#: Why bubblewrap cannot confine agents here (None when it can).
NO_BWRAP = _why_no_bwrap()
#: Marks a test that needs bubblewrap.
needs_bwrap = pytest.mark.skipif(NO_BWRAP is not None, reason=f"confinement: {NO_BWRAP}")


def why_no_private_tmpfs() -> str | None:
    """Why a test cannot mount a tmpfs in a mount namespace of its own (None: it can)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare to mount a private tmpfs"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return None if probe.returncode == 0 else "mount namespaces are not allowed here"
