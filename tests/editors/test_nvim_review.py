"""The review workflow through the plugin's commands, in real headless Neovim with the real
server: review state and :YuiDiff/:YuiApply, :YuiLog following live output, conflict
markers from :YuiResolve, every answer shown, tasks of a `yui run` in a terminal, and a
missing server said once, before any question."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from editor_harness import Editor
from test_nvim_e2e import attach, yui  # noqa: F401  (fixture: the plugin against this checkout)

pytestmark = [pytest.mark.nvim, pytest.mark.slow]

#: Prints, waits for a gate file (a barrier the test opens), rewrites line 1, prints again.
GATED = (
    "import os, pathlib, sys\n"
    "print('started', flush=True)\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    pass\n"
    "p = pathlib.Path(sys.argv[2])\n"
    "rest = p.read_text().split(chr(10), 1)[1]\n"
    "p.write_text(sys.argv[3] + chr(10) + rest)\n"
    "print('edited', flush=True)\n"
)


def configure(root: Path, text: str) -> None:
    (root / ".yui").mkdir(exist_ok=True)
    (root / ".yui" / "config.toml").write_text(text)


def submit(nvim: Editor, spec: dict[str, object]) -> str:
    nvim.lua("_G.sub = nil; require('yui').submit(vim.json.decode(...), function(r)"
             " _G.sub = r.taskId end)", __import__("json").dumps(spec))
    assert nvim.wait("_G.sub ~= nil", 20)
    return str(nvim.lua("return _G.sub"))


def status(nvim: Editor, task_id: str) -> str:
    return str(nvim.lua("local t = require('yui.tasks').get(...); return t and t.status or ''",
                        task_id))


def gated(gate: Path, rel: str, line: str, title: str = "Gated") -> dict[str, object]:
    return {"title": title, "agent": "shell", "claims": [rel],
            "command": [sys.executable, "-c", GATED, str(gate), rel, line]}


def notes(nvim: Editor) -> list[str]:
    return [n["msg"] for n in nvim.notifications()]


def test_review_diff_and_apply_save_the_files(
        request: pytest.FixtureRequest) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    configure(nvim.workspace, 'apply_mode = "review"\n')
    alpha = attach(nvim, "alpha.py")
    code = ("import pathlib\n"
            "for n in ('alpha', 'beta'):\n"
            "    p = pathlib.Path(n + '.py'); p.write_text(p.read_text().upper())\n")
    task_id = submit(nvim, {"title": "Shout", "agent": "shell", "claims": ["alpha.py", "beta.py"],
                            "command": [sys.executable, "-c", code]})
    assert nvim.wait("require('yui').statusline():find('1 to review', 1, true) ~= nil", 30), \
        nvim.lua("return vim.inspect(require('yui.tasks').all())") + str(notes(nvim)) + \
        nvim.statusline()
    assert nvim.lua("return #vim.api.nvim_list_tabpages()") == 1
    nvim.cmd(f"YuiDiff {task_id}")
    assert nvim.wait("#vim.api.nvim_list_tabpages() == 3", 10)
    diffed = nvim.lua("return vim.tbl_map(function(w)"
                      " return vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(w)) end,"
                      " vim.tbl_filter(function(w) return vim.wo[w].diff end,"
                      " vim.api.nvim_list_wins()))")
    assert sorted(diffed) == sorted(f"yui://{task_id}/{side}/{name}.py"
                                    for side in ("current", "result") for name in ("alpha", "beta"))
    # `a` in alpha's diff applies that file alone; beta is discarded by name.
    nvim.lua("for _, w in ipairs(vim.api.nvim_list_wins()) do"
             " if vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(w)):find('/result/alpha.py')"
             " then vim.api.nvim_set_current_win(w) end end")
    nvim.lua("vim.api.nvim_feedkeys('a', 'x', false)")
    assert nvim.wait("vim.iter(_G.yui_test_notes):any(function(n)"
                     " return n.msg:find('applied 1 file', 1, true) end)", 20), notes(nvim)
    assert nvim.lua("return #vim.api.nvim_list_tabpages()") == 2
    nvim.cmd("tabonly")
    nvim.cmd(f"YuiDiscard {task_id} beta.py")
    assert nvim.wait("require('yui.tasks').get(a[1]).status == 'completed'", 30, task_id)
    assert any("discarded 1 file" in n for n in notes(nvim)), notes(nvim)
    assert nvim.wait("not vim.bo[a[1]].modified", 10, alpha)
    assert 'RETURN "ALPHA"' in (nvim.workspace / "alpha.py").read_text()
    assert 'return "beta"' in (nvim.workspace / "beta.py").read_text()
    hidden = nvim.lua("return #vim.tbl_filter(function(b) return vim.bo[b].modified end,"
                      " vim.api.nvim_list_bufs())")
    assert hidden == 0
    nvim.cmd(f"YuiDiscard {task_id}")
    assert nvim.wait("vim.iter(_G.yui_test_notes):any(function(n)"
                     " return n.msg:find('nothing to discard', 1, true) end)", 10), notes(nvim)


def test_log_follows_live_output_and_resolve_writes_conflict_markers(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    configure(nvim.workspace, "conflict_retries = 0\n")
    alpha = attach(nvim, "alpha.py")
    gate = tmp_path / "gate"
    task_id = submit(nvim, gated(gate, "alpha.py", "# from the task"))
    assert nvim.wait("require('yui.tasks').get(a[1]).status == 'running'", 30, task_id)
    nvim.cmd(f"YuiLog {task_id}")
    log = int(nvim.lua("return vim.fn.bufnr(...)", f"yui://log/{task_id}"))
    assert nvim.wait("vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false),"
                     " 'started')", 20, log)
    nvim.lua("vim.api.nvim_buf_set_lines(..., 0, 1, false, { '# typed by me' })", alpha)
    gate.touch()
    assert nvim.wait("vim.tbl_contains(vim.api.nvim_buf_get_lines(a[1], 0, -1, false),"
                     " '# (task ended)')", 30, log)
    assert "edited" in nvim.lines(log)
    assert nvim.wait("require('yui.tasks').get(a[1]).status == 'conflict'", 30, task_id), \
        nvim.lua("return vim.inspect(require('yui.tasks').get(...))", task_id)
    assert nvim.lines(alpha)[0] == "# typed by me", "what was typed meanwhile is kept"
    nvim.cmd(f"YuiResolve {task_id} editor")
    assert nvim.wait("vim.api.nvim_buf_get_lines(a[1], 0, 1, false)[1] =="
                     " '<<<<<<< yours (editor)'", 20, alpha)
    assert nvim.lines(alpha)[:5] == ["<<<<<<< yours (editor)", "# typed by me", "=======",
                                     "# from the task", ">>>>>>> task 'Gated'"]
    assert nvim.lua("return vim.bo[...].modified", alpha), "markers stay unsaved"
    assert "<<<<<<<" not in (nvim.workspace / "alpha.py").read_text()


def test_every_answer_is_shown_and_cli_tasks_finish_in_neovim(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    attach(nvim, "alpha.py")
    done = submit(nvim, {"title": "Quick", "agent": "shell", "command": ["true"]})
    assert nvim.wait("require('yui.tasks').get(a[1]).status == 'completed'", 30, done)
    nvim.cmd(f"YuiCancel {done}")
    assert nvim.wait("vim.iter(_G.yui_test_notes):any(function(n)"
                     " return n.msg == 'yui: the task had already ended' end)", 10), notes(nvim)
    assert any("'Quick' completed with no changes" in n for n in notes(nvim)), notes(nvim)

    plan = tmp_path / "plan.toml"
    plan.write_text('[[task]]\nid = "cli-readme"\nagent = "shell"\n'
                    'command = ["sh", "-c", "echo from cli >> gamma.py"]\nclaims = ["gamma.py"]\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cli-cache"), "CI": "true"}
    run = subprocess.run([str(Path(sys.executable).parent / "yui"), "run", str(plan)],
                         cwd=nvim.workspace, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert nvim.wait("(require('yui.tasks').get('cli-readme') or {}).status == 'completed'", 20)
    assert "CLI" not in nvim.statusline() and "running" not in nvim.statusline()


def test_a_missing_server_is_said_once_and_before_any_question(editor: Editor) -> None:
    editor.setup(cmd=["no-such-yui-lsp-command"])
    warnings = [n for n in editor.notifications() if "server command not found" in n["msg"]]
    assert len(warnings) == 1 and warnings[0]["level"] == editor.lua("return vim.log.levels.WARN")
    editor.lua("_G.asked = 0; vim.ui.input = function() _G.asked = _G.asked + 1 end")
    editor.cmd("YuiSubmit")
    assert editor.lua("return _G.asked") == 0
    assert "not running" in editor.notifications()[-1]["msg"]
    assert len([n for n in editor.notifications() if "server command not found" in n["msg"]]) == 1


def test_interactive_submit_offers_shell_and_runs_a_typed_command_line(
        request: pytest.FixtureRequest) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    attach(nvim, "alpha.py")
    nvim.lua("""
        local answers = { 'Append x', [[sh -c "echo \\"x\\" >> gamma.py"]], 'gamma.py' }
        _G.offered, _G.confirm = nil, nil
        vim.ui.input = function(_, on_done) on_done(table.remove(answers, 1)) end
        vim.ui.select = function(items, opts, on_done)
          if opts.prompt == 'Agent' then
            _G.offered = vim.tbl_map(function(a) return a.name end, items)
            on_done(vim.iter(items):find(function(a) return a.name == 'shell' end))
          else
            _G.confirm = opts.prompt
            on_done('Run')
          end
        end
    """)
    nvim.cmd("YuiSubmit")
    assert nvim.wait("_G.confirm ~= nil", 20), notes(nvim)
    assert "shell" in nvim.lua("return _G.offered")
    assert nvim.lua("return _G.confirm") == """Run sh -c 'echo "x" >> gamma.py' ?"""
    assert nvim.wait("vim.iter(require('yui.tasks').all()):any(function(t)"
                     " return t.title == 'Append x' and t.status == 'completed' end)", 30)
    assert nvim.wait("vim.fn.readfile('gamma.py')[#vim.fn.readfile('gamma.py')] == 'x'", 10)


def test_a_refactor_of_closed_files_reaches_the_disk_and_leaves_no_modified_buffer(
        request: pytest.FixtureRequest) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    attach(nvim, "alpha.py")
    nvim.cmd("YuiRefactor! r(et)urn R\\1URN beta.py gamma.py")
    assert nvim.wait("#require('yui.tasks').all() > 0 and vim.iter(require('yui.tasks').all())"
                     ":all(function(t) return t.status == 'completed' end)", 30), notes(nvim)
    assert nvim.wait("#vim.tbl_filter(function(b) return vim.bo[b].modified end,"
                     " vim.api.nvim_list_bufs()) == 0", 10)
    for name in ("beta", "gamma"):
        assert f'    RetURN "{name}"' in (nvim.workspace / f"{name}.py").read_text()
    assert 'return "alpha"' in (nvim.workspace / "alpha.py").read_text()
    loaded = nvim.lua("return vim.tbl_map(function(b) return vim.fs.basename("
                      "vim.api.nvim_buf_get_name(b)) end, vim.tbl_filter("
                      "vim.api.nvim_buf_is_loaded, vim.api.nvim_list_bufs()))")
    assert "beta.py" not in loaded and "gamma.py" not in loaded
