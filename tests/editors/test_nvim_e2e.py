"""Neovim and the real yui-lsp server, end to end: tasks launched from Neovim run in the
server's sandboxes (the built-in `yui` worker running a small Python command, no LLM), and
what the user sees — statusline, lease diagnostics and marks, results in the buffers, merged
with text typed while the tasks ran — is checked in a real headless Neovim."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from editor_harness import REPO, Editor

pytestmark = [pytest.mark.nvim, pytest.mark.slow]


@pytest.fixture
def yui(editor: Editor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Editor:
    """The editor with the plugin set up against this checkout's server."""
    # Neovim's children inherit this: the server under test is this checkout's.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    editor.lua("vim.fn.setenv('PYTHONPATH', ...)", os.environ["PYTHONPATH"])
    editor.setup(
        cmd=[sys.executable, "-m", "yui_lsp", "--log-file", str(tmp_path / "server.log")],
        settings={"maxWorkers": 3, "sandboxDir": str(tmp_path / "sandboxes")},
    )
    # Record every task update with its time, to judge parallelism afterwards.
    editor.lua(
        """
        _G.yui_test_updates = {}
        vim.api.nvim_create_autocmd('User', { pattern = 'YuiTaskUpdate', callback = function(a)
          table.insert(_G.yui_test_updates,
            { id = a.data.id, status = a.data.status, t = vim.uv.hrtime() / 1e9 })
        end })
        """
    )
    return editor


def attach(editor: Editor, rel: str) -> int:
    """Open a workspace file and wait until the yui server is attached and initialized."""
    bufnr = editor.edit(rel)
    attached = editor.wait(
        "(function() local c = vim.lsp.get_clients({ name = 'yui', bufnr = a[1] })[1]"
        " return c ~= nil and c.initialized end)()",
        30,
        bufnr,
    )
    assert attached, "yui-lsp did not attach: " + _server_log(editor)
    return bufnr


def _server_log(editor: Editor) -> str:
    log = Path(editor.lua("return vim.lsp.get_log_path()"))
    return log.read_text()[-3000:] if log.exists() else "(no lsp.log)"


def slow_edit(rel: str, old: str, new: str, sleep_s: float) -> list[str]:
    """argv of a sandboxed command that sleeps, then replaces ``old`` by ``new`` in ``rel``."""
    code = (
        "import pathlib, time, sys\n"
        f"time.sleep({sleep_s})\n"
        f"p = pathlib.Path({rel!r})\n"
        f"p.write_text(p.read_text().replace({old!r}, {new!r}))\n"
    )
    return [sys.executable, "-c", code]


def submit_edit(editor: Editor, title: str, rel: str, old: str, new: str, sleep_s: float) -> None:
    """:YuiSubmit a `yui` worker task claiming ``rel`` that runs :func:`slow_edit`."""
    spec = {
        "title": title,
        "prompt": f"replace {old!r} with {new!r} in {rel}",
        "agent": "yui",
        "claims": [rel],
        "command": slow_edit(rel, old, new, sleep_s),
    }
    editor.cmd("YuiSubmit " + json.dumps(spec))


def task_ids(editor: Editor) -> list[str]:
    return list(
        editor.lua("return vim.tbl_map(function(t) return t.id end, require('yui.tasks').all())")
    )


def yui_diagnostics(editor: Editor, bufnr: int) -> list[str]:
    return list(
        editor.lua(
            "return vim.tbl_map(function(d) return d.message end,"
            " vim.tbl_filter(function(d) return d.source == 'yui' end, vim.diagnostic.get(...)))",
            bufnr,
        )
    )


def test_a_submitted_task_shows_in_the_statusline_and_its_result_lands_in_the_buffer(
    yui: Editor,
) -> None:
    alpha = attach(yui, "alpha.py")
    submit_edit(yui, "Shout alpha", "alpha.py", 'return "alpha"', 'return "ALPHA"', 2.0)
    # While it runs, the statusline names it with its progress.
    assert yui.wait(
        "require('yui').statusline():match('^yui: 1 running | Shout alpha %d+%%$') ~= nil", 20
    ), yui.statusline() + _server_log(yui)
    assert yui.wait(
        "vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false), '    return \"ALPHA\"')",
        30,
        alpha,
    ), _server_log(yui) + str(yui.notifications()) + str(yui.lua("return _G.yui_test_updates"))
    assert yui.wait("require('yui').statusline() == ''", 10)
    notes = [n["msg"] for n in yui.notifications()]
    assert any(n.startswith("yui: task 'Shout alpha' completed") for n in notes), notes
    # An open file's result goes through the editor (a change the user can undo); the
    # buffer had no unsaved changes, so saveAfterApply "clean" wrote it to disk.
    assert yui.wait("not vim.bo[a[1]].modified", 10, alpha)
    assert 'return "ALPHA"' in (yui.workspace / "alpha.py").read_text()
    yui.lua("vim.api.nvim_buf_call(..., function() vim.cmd('silent undo') end)", alpha)
    assert '    return "alpha"' in yui.lines(alpha)


def test_three_tasks_run_in_parallel_and_merge_with_text_typed_meanwhile(yui: Editor) -> None:
    """Issue 5's proof: three tasks from Neovim, leases visible while they run, results
    merged into the buffers together with what the user typed during the run."""
    buffers = {name: attach(yui, f"{name}.py") for name in ("alpha", "beta", "gamma")}
    for name in buffers:
        submit_edit(
            yui, f"Rename {name}", f"{name}.py", f"def {name}()", f"def {name}_value()", 4.0
        )
    # While they run: every buffer shows the server's lease diagnostic and the plugin's mark.
    for name, bufnr in buffers.items():
        assert yui.wait(
            "#vim.tbl_filter(function(d) return d.source == 'yui' end,"
            " vim.diagnostic.get(a[1])) > 0",
            20,
            bufnr,
        ), f"no lease diagnostic on {name}.py: " + _server_log(yui)
        message = yui_diagnostics(yui, bufnr)[0]
        assert f"Being edited by task 'Rename {name}' (yui)" in message
        marks = yui.lua(
            "return vim.api.nvim_buf_get_extmarks(..., require('yui.leases').ns, 0, -1, {})",
            bufnr,
        )
        assert len(marks) == 1, f"no lease mark on {name}.py"
    assert yui.wait("require('yui').statusline():find('3 running') ~= nil", 10)

    # The user types at the top of each file while the agents work.
    for name, bufnr in buffers.items():
        yui.lua(
            "vim.api.nvim_buf_set_lines(select(1, ...), 0, 0, false, { select(2, ...) })",
            bufnr,
            f"# typed by the user into {name}",
        )

    for name, bufnr in buffers.items():
        assert yui.wait(
            "vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false), a[2])",
            40,
            bufnr,
            f"def {name}_value() -> str:",
        ), f"{name}.py never got its result: " + _server_log(yui)
        lines = yui.lines(bufnr)
        assert lines[0] == f"# typed by the user into {name}", lines
        assert f"def {name}() -> str:" not in lines
    for name, bufnr in buffers.items():
        assert yui.wait("#vim.diagnostic.get(a[1]) == 0", 10, bufnr), f"{name}.py stays leased"
        assert (
            yui.lua(
                "return #vim.api.nvim_buf_get_extmarks(..., require('yui.leases').ns, 0, -1, {})",
                bufnr,
            )
            == 0
        )

    # Parallel, not one after another: every task was running before any of them ended.
    updates = yui.lua("return _G.yui_test_updates")
    first_end = min(u["t"] for u in updates if u["status"] == "completed")
    started = {u["id"] for u in updates if u["status"] == "running" and u["t"] < first_end}
    assert len(started) == 3, updates


def test_refactor_command_rewrites_the_open_buffer(yui: Editor) -> None:
    gamma = attach(yui, "gamma.py")
    yui.cmd("YuiRefactor gamma() delta() gamma.py")
    assert yui.wait(
        "vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false), 'def delta() -> str:')",
        30,
        gamma,
    ), _server_log(yui)


def test_cancel_stops_a_running_task_and_the_user_is_told(yui: Editor) -> None:
    beta = attach(yui, "beta.py")
    submit_edit(yui, "Never finishes", "beta.py", "beta", "BETA", 60.0)
    assert yui.wait("require('yui').statusline():find('1 running') ~= nil", 20)
    # "running" in the statusline includes acquiring; the lease diagnostic says it is held.
    assert yui.wait(
        "#vim.tbl_filter(function(d) return d.source == 'yui' end, vim.diagnostic.get(a[1])) > 0",
        20,
        beta,
    )
    yui.cmd("YuiLocks")
    assert yui.wait("#vim.fn.getqflist() > 0", 10)
    qf = yui.lua("return vim.tbl_map(function(i) return i.text end, vim.fn.getqflist())")
    assert any("leased by 'Never finishes' (yui)" in text for text in qf), qf
    yui.cmd("cclose")
    (task_id,) = task_ids(yui)
    yui.cmd(f"YuiCancel {task_id}")
    assert yui.wait("require('yui.tasks').get(a[1]).status == 'cancelled'", 15, task_id)
    assert yui.statusline() == ""
    assert "BETA" not in "\n".join(yui.lines(beta))
    yui.cmd("YuiTasks")
    listed = yui.lua("return require('yui.float').lines()")
    assert any("cancelled" in line and "Never finishes" in line for line in listed), listed


def test_develop_runs_a_component_from_the_project_config(yui: Editor) -> None:
    edit = slow_edit("beta.py", 'return "beta"', 'return "BETA"', 0.5)
    toml_argv = ", ".join(json.dumps(arg) for arg in edit)
    (yui.workspace / "pyproject.toml").write_text(
        f'[tool.yui.components.backend]\npaths = ["beta.py"]\ncommand = [{toml_argv}]\n'
    )
    beta = attach(yui, "beta.py")
    # :YuiDevelop asks what to build through vim.ui.input; answer as a user would.
    yui.lua("vim.ui.input = function(_, on_confirm) on_confirm('make beta loud') end")
    yui.cmd("YuiDevelop backend=yui")
    assert yui.wait(
        "vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false), '    return \"BETA\"')",
        30,
        beta,
    ), [n["msg"] for n in yui.notifications()]
    notes = [n["msg"] for n in yui.notifications()]
    assert "yui: started 1 task(s): " in "\n".join(notes), notes


def test_checkhealth_reports_how_yui_works_in_the_workspace(yui: Editor) -> None:
    """`:checkhealth yui` asks the running server's `yui.doctor`: file system, flushing,
    locks, where the control sockets live, and whether confinement works."""
    attach(yui, "alpha.py")
    yui.cmd("checkhealth yui")
    text = "\n".join(yui.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "durability: " in text, text
    assert "file locks: shared by every process on this machine" in text, text
    assert "control socket: " in text and ".sock" in text, text
    assert "confinement: " in text, text
