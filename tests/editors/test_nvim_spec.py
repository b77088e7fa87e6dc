"""A spec's task list from a real headless Neovim: the server's code lenses show on the open
tasks.md, a task's lens runs it, :YuiSpec runs the Kiro double on every unchecked task left
(four at once), and the boxes tick in the open buffer while the user's own text stays."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from editor_harness import REPO, Editor, git

from tests.specs.samples import KIRO_TASKS, ROOMY, agent_env

pytestmark = [pytest.mark.nvim, pytest.mark.slow]

TASKS = ".kiro/specs/shop/tasks.md"


def test_yui_spec_runs_the_list_and_ticks_the_open_buffer(
    editor: Editor, workspace: Path, tmp_path: Path
) -> None:
    (workspace / ".kiro" / "specs" / "shop").mkdir(parents=True)
    (workspace / TASKS).write_text(KIRO_TASKS)
    (workspace / "pyproject.toml").write_text(ROOMY)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "spec")
    env = {**agent_env(tmp_path, parties=4, fail=False),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for name, value in env.items():
        editor.lua("vim.fn.setenv(...)", name, value)
    editor.setup(cmd=[sys.executable, "-m", "yui_lsp", "--log-file", str(tmp_path / "s.log")],
                 settings={"maxWorkers": 4, "sandboxDir": str(tmp_path / "sandboxes")})
    bufnr = editor.edit(TASKS)
    lenses = ("(function() local t = {} for _, l in ipairs(vim.lsp.codelens.get(a[1])) do"
              " if l.command then table.insert(t, l.command.title) end end return t end)()")
    assert editor.wait(f"vim.tbl_contains({lenses}, '▶▶ Run 12 tasks in parallel (5 waves)')",
                       60, bufnr), (tmp_path / "s.log").read_text()[-3000:]
    assert editor.lua(f"local a = {{...}} return #vim.tbl_filter(function(t) return t == "
                      f"'▶ Run task' end, {lenses})", bufnr) >= 12

    # The lens of one task runs that task alone (it waits for nothing else it selected).
    line = next(i for i, text in enumerate(editor.lines(bufnr)) if "] 5. " in text)
    editor.lua("vim.api.nvim_win_set_cursor(0, {..., 0}); vim.lsp.codelens.run()", line + 1)
    assert editor.wait(f"vim.api.nvim_buf_get_lines(a[1], {line}, {line + 1}, false)[1]"
                       ":match('%- %[x%] 5%.') ~= nil", 60, bufnr), editor.lines(bufnr)
    # New files may land on disk just after the edit (clients without resource operations).
    assert editor.wait("(function() local t = require('yui.tasks').all()[1]"
                       " return t ~= nil and t.status == 'completed' end)()", 60)
    assert (workspace / "README.md").read_text() == "# Shop"

    editor.cmd("YuiSpec")
    # The user types in the list while the agents work.
    editor.lua("vim.api.nvim_buf_set_lines(..., -1, -1, false, {'', 'Notes: call Bob.'})", bufnr)
    done = "(function() local n = 0 for _, l in ipairs(vim.api.nvim_buf_get_lines(a[1], 0, -1," \
           " false)) do if l:match('%- %[x%]') then n = n + 1 end end return n end)()"
    # 14 boxes with work or parents (1, 1.1-1.4, 2, 2.1-2.4, 3, 4, 4.1, 4.2, 5) + the done 6.
    assert editor.wait(f"{done} == 16", 180, bufnr), editor.lines(bufnr)
    lines = editor.lines(bufnr)
    assert lines[-1] == "Notes: call Bob."
    assert any("- [ ]* 4.3" in line for line in lines)
    assert (workspace / "app" / "user.py").read_text() == "USER = 'user'"
