"""Fixtures: a real git repository to coordinate on, with caches kept inside tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import init_repo
from yui_lsp.config import Settings


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(
        tmp_path / "repo", {"src/a.py": "x = 1\n", "src/b.py": "y = 2\n", "README.md": "# demo\n"}
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(sandbox_dir=str(tmp_path / "sandboxes"), retry_backoff_s=0.01)
