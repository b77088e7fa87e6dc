"""Process settings the front ends apply at start."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

CODE = "from yui_lsp.runtime import limit_malloc_arenas; print(limit_malloc_arenas())"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_arenas_are_capped_unless_the_user_chose() -> None:
    env_free = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin"}, check=True)
    assert env_free.stdout.strip() == "True"
    chosen = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "8"}, check=True)
    assert chosen.stdout.strip() == "False"
