"""Helpers of the untrusted-state, bad-input and local-user tests (imported explicitly).

A real git repository and the real `yui` CLI in a subprocess, as in tests/cli, plus a plan
task that runs Python in the sandbox with the shell worker.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import PYTHON, Done, cli_env, shell_task, write_plan, yui_argv
from tests.support import git, init_repo

__all__ = ["PYTHON", "Done", "git", "make_repo", "repo_fixture", "run_yui", "shell_task",
           "tree_modes", "write_plan", "yui_fixture"]

Yui = Callable[..., Done]


def make_repo(tmp_path: Path) -> Path:
    """A small git repository with a folder of sources and an ignored, untracked file."""
    root = init_repo(tmp_path / "repo", {
        "src/a.py": "A = 1\n", "src/b.py": "B = 2\n", "README.md": "# demo\n",
        ".gitignore": "*.log\n",
    })
    (root / "notes.log").write_text("ignored and untracked\n")
    return root


def run_yui(tmp_path: Path, root: Path) -> Yui:
    """A function running `yui ARGS...` in ``root`` to the end."""

    def run(*args: str, timeout: float = 90, env: dict[str, str] | None = None,
            umask: int = -1) -> Done:
        done = subprocess.run(
            yui_argv(*args), cwd=root, env={**cli_env(tmp_path), **(env or {})},
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            umask=umask,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> Path:
    """:func:`make_repo` in the test's folder (import it into a test module to use it)."""
    return make_repo(tmp_path)


@pytest.fixture(name="yui")
def yui_fixture(tmp_path: Path, repo: Path) -> Yui:
    """:func:`run_yui` on ``repo``."""
    return run_yui(tmp_path, repo)


def tree_modes(folder: Path) -> dict[str, int]:
    """Permission bits of every entry under ``folder`` (itself included), by relative path."""
    found = {".": os.lstat(folder).st_mode & 0o7777}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(folder))] = os.lstat(path).st_mode & 0o7777
    return found


def head_state(root: Path) -> tuple[str, str]:
    """HEAD and the porcelain status: the repository as the user sees it."""
    return git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain", "--ignored")
