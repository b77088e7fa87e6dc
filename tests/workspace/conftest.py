"""Real git repositories and folders in tmp_path for the workspace tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run_git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a test identity; returns stdout."""
    import os

    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Create ``files`` (relative path -> content) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """A git repository at ``root`` with ``files`` committed."""
    root.mkdir(parents=True, exist_ok=True)
    run_git(root, "init", "-q", "-b", "main")
    write(root, files)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small committed repository with a .gitignore'd .env."""
    return make_repo(
        tmp_path / "repo",
        {
            "src/app.py": "def main():\n    return 1\n",
            "src/util.py": "X = 1\n",
            "tests/test_app.py": "def test():\n    pass\n",
            "README.md": "# demo\n",
            ".gitignore": ".env\n__pycache__/\n",
        },
    )


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A private cache dir (never the real user cache)."""
    path = tmp_path / "cache"
    path.mkdir()
    return path
