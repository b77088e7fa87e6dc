"""Fixtures: a real git repository to coordinate on, with caches kept inside tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from yui_lsp.config import Settings


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("x = 1\n")
    (root / "src" / "b.py").write_text("y = 2\n")
    (root / "README.md").write_text("# demo\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(sandbox_dir=str(tmp_path / "sandboxes"), retry_backoff_s=0.01)
