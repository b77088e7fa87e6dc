"""Fixtures: a real git repository and editors connected to the real server process."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.server.editor import Editor, start_editor


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path) -> Path:
    """A git repository at ``root`` with src/a.py and src/b.py committed."""
    (root / "src").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "src" / "a.py").write_text("x = 1\ny = 2\nz = 3\n")
    (root / "src" / "b.py").write_text("b = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


EditorFactory = Callable[..., Awaitable[Editor]]


@pytest.fixture
async def open_editor(repo: Path, tmp_path: Path) -> AsyncIterator[EditorFactory]:
    """Start editors on ``repo``; each is shut down cleanly after the test."""
    editors: list[Editor] = []

    async def start(options: dict[str, Any] | None = None, root: Path | None = None,
                    **kwargs: Any) -> Editor:
        editor = await start_editor(root or repo, tmp_path / "cache", options, **kwargs)
        editors.append(editor)
        return editor

    yield start
    for editor in editors:
        await editor.client.shutdown_session()
        await editor.client.stop()  # type: ignore[no-untyped-call]
