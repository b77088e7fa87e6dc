"""Fixtures for the power-cut tests: a lazyfs mount (skipped where FUSE cannot mount)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mount import fuse_available

_WHY_NOT = fuse_available()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _WHY_NOT is None:
        return
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=f"FUSE not available: {_WHY_NOT}"))
