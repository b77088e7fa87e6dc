"""The Neovim plugin's own behaviour in a real headless Neovim, fed protocol messages
directly (no server): what the user sees in the statusline, notifications, gutter and lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from editor_harness import REPO, Editor

# No filetype matches, so no server starts: these tests exercise the plugin alone.
NO_SERVER = {"cmd": ["false"], "filetypes": ["no-such-filetype"]}


def update(editor: Editor, **fields: object) -> None:
    """Deliver one yui/taskUpdate notification to the plugin's handler."""
    msg: dict[str, object] = {
        "type": "task_update",
        "agent_id": "yui_worker_1",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    msg.update(fields)
    editor.lua("require('yui').on_task_update(nil, vim.json.decode(...), {})", json.dumps(msg))


def test_setup_registers_the_server_and_every_command(editor: Editor) -> None:
    editor.setup(cmd=["yui-lsp", "--stdio-test"], settings={"maxWorkers": 3})
    config = editor.lua("local c = vim.lsp.config['yui']; return {c.cmd, c.init_options}")
    assert config[0] == ["yui-lsp", "--stdio-test"]
    assert config[1] == {"maxWorkers": 3}
    assert editor.lua("return vim.lsp.is_enabled('yui')")
    commands = editor.lua("return vim.tbl_keys(vim.api.nvim_get_commands({}))")
    for name in ("YuiSubmit", "YuiDevelop", "YuiRefactor", "YuiTasks", "YuiCancel", "YuiLocks"):
        assert name in commands
    # The code action "Show diff" runs in the client, so its answer is shown, not dropped.
    assert editor.lua("return type(vim.lsp.commands['yui.showDiff'])") == "function"


def test_statusline_counts_running_and_queued_and_shows_current_percent(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    assert editor.statusline() == ""
    update(editor, task_id="a", title="Fix parser", status="running", progress=0.4, agent="yui")
    update(editor, task_id="b", title="Docs", status="queued", agent="kiro")
    assert editor.statusline() == "yui: 1 running, 1 queued | Fix parser 40%"
    update(editor, task_id="b", title="Docs", status="running", progress=0.25, agent="kiro")
    assert editor.statusline() == "yui: 2 running | Docs 25%"
    update(editor, task_id="b", title="Docs", status="failed", agent="kiro", error="exit 1")
    update(editor, task_id="a", title="Fix parser", status="completed", progress=1.0)
    assert editor.statusline() == "yui: 1 failed"


def test_notifies_once_when_a_task_ends_and_says_why_it_failed(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    update(editor, task_id="a", title="Fix parser", status="running", progress=0.5)
    assert editor.notifications() == []
    update(
        editor,
        task_id="a",
        title="Fix parser",
        status="completed",
        progress=1.0,
        files_modified=["src/parser.py"],
    )
    update(editor, task_id="a", title="Fix parser", status="completed", progress=1.0)
    update(editor, task_id="b", title="Lint", status="failed", error="ruff not found")
    notes = editor.notifications()
    assert [n["msg"] for n in notes] == [
        "yui: task 'Fix parser' completed (src/parser.py)",
        "yui: task 'Lint' failed: ruff not found",
    ]
    assert notes[1]["level"] == editor.lua("return vim.log.levels.ERROR")


def lock(path: str, task: str = "fix-1", title: str = "Fix parser") -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "file_path": path,
        "locked_by": task,
        "lock_type": "exclusive",
        "acquired_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "owner_pid": 1,
        "host": "h",
        "agent": "kiro",
        "task_title": title,
    }


def marks(editor: Editor, bufnr: int) -> list[dict[str, object]]:
    return list(
        editor.lua(
            """
        local ns = require('yui.leases').ns
        local out = {}
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(..., ns, 0, -1, { details = true })) do
          local d = m[4]
          table.insert(out, { line = m[2], sign = vim.trim(d.sign_text or ''),
                              text = d.virt_text and d.virt_text[1][1] or '' })
        end
        return out
        """,
            bufnr,
        )
    )


def locks_changed(editor: Editor, locks: list[dict[str, object]],
                  tasks: list[str] | None = None) -> None:
    """Deliver yui/locksChanged for the workspace to the plugin's handler: the whole table,
    or (with ``tasks``) the leases of those tasks."""
    params: dict[str, object] = {"folder": editor.workspace.as_uri(), "locks": locks}
    if tasks is not None:
        params["tasks"] = tasks
    editor.lua("require('yui').on_locks_changed(nil, vim.json.decode(select(1, ...)), {})",
               json.dumps(params))


def test_leased_buffers_get_a_sign_and_virtual_text_until_the_lease_ends(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    alpha = editor.edit("alpha.py")
    beta = editor.edit("beta.py")
    locks_changed(editor, [lock("alpha.py")])
    shown = marks(editor, alpha)
    assert len(shown) == 1 and shown[0]["line"] == 0 and shown[0]["sign"] == "🔒"
    assert "leased by 'Fix parser' (kiro) since" in str(shown[0]["text"])
    assert marks(editor, beta) == []
    locks_changed(editor, [])
    assert marks(editor, alpha) == []


def test_lease_changes_replace_only_the_tasks_they_name(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    alpha = editor.edit("alpha.py")
    beta = editor.edit("beta.py")
    locks_changed(editor, [lock("alpha.py", task="a", title="Task A"),
                           lock("gamma.py", task="b", title="Task B")])
    locks_changed(editor, [lock("beta.py", task="b", title="Task B")], tasks=["b"])
    assert "'Task A'" in str(marks(editor, alpha)[0]["text"]), "task a was not named: kept"
    assert "'Task B'" in str(marks(editor, beta)[0]["text"])
    locks_changed(editor, [], tasks=["a"])
    assert marks(editor, alpha) == [], "named with no leases: task a holds none any more"
    assert marks(editor, beta) != []
    locks_changed(editor, [lock("gamma.py", task="c")])
    assert marks(editor, beta) == [], "a whole table replaces what was there"


def test_a_glob_lease_marks_files_opened_later(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    locks_changed(editor, [lock("*.py", title="Format all")])
    gamma = editor.edit("gamma.py")
    assert "'Format all'" in str(marks(editor, gamma)[0]["text"])


def test_lease_times_are_shown_in_local_time(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    stamp = datetime(2026, 3, 1, 10, 29, 5, 123456, tzinfo=UTC)
    expected = stamp.astimezone().strftime("%H:%M")
    got = editor.lua("return require('yui.record').clock(...)", stamp.isoformat())
    assert got == expected
    zulu = editor.lua("return require('yui.record').clock(...)", "2026-03-01T10:29:05Z")
    assert zulu == expected


def test_task_list_float_shows_tasks_and_follows_updates(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    update(
        editor,
        task_id="a",
        title="Fix parser",
        status="running",
        progress=0.3,
        agent="yui",
        files_modified=["alpha.py"],
    )
    editor.cmd("YuiTasks")
    lines = editor.lua("return require('yui.float').lines()")
    assert len(lines) == 1 and "running" in lines[0] and "30%" in lines[0]
    assert "Fix parser" in lines[0] and "alpha.py" in lines[0]
    assert editor.lua("return vim.api.nvim_win_get_config(0).relative") == "editor"
    update(editor, task_id="a", title="Fix parser", status="completed", progress=1.0)
    lines = editor.lua("return require('yui.float').lines()")
    assert "completed" in lines[0] and "100%" in lines[0]
    editor.nvim.input("q")
    assert editor.wait("require('yui.float').lines() == nil", 2)


def test_commands_without_a_running_server_say_how_to_diagnose(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    editor.cmd('YuiSubmit {"title": "x", "prompt": "y", "agent": "yui"}')
    assert "not running" in editor.notifications()[-1]["msg"]
    assert ":checkhealth yui" in editor.notifications()[-1]["msg"]


def test_checkhealth_reports_a_missing_server_command(editor: Editor) -> None:
    editor.setup(cmd=["definitely-not-a-yui-server"])
    editor.cmd("checkhealth yui")
    text = "\n".join(editor.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "server command not found: definitely-not-a-yui-server" in text
    assert "pip install yui-lsp" in text


def test_a_stale_task_list_does_not_hide_tasks_heard_of_since(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    update(editor, task_id="a", title="Fix parser", status="running", progress=0.5)
    update(editor, task_id="b", title="Docs", status="completed", progress=1.0)
    # A yui.listTasks answer computed before task "a" existed and before "b" ended.
    stale = [{"task": {"id": "b", "title": "Docs", "agent": "kiro"}, "status": "running"}]
    editor.lua("require('yui.tasks').merge(vim.json.decode(...))", json.dumps(stale))
    assert editor.statusline() == "yui: 1 running | Fix parser 50%"


def test_the_plugin_works_without_a_setup_call(editor: Editor) -> None:
    editor.cmd("runtime plugin/yui.lua")
    assert editor.lua("return require('yui').configured")
    commands = editor.lua("return vim.tbl_keys(vim.api.nvim_get_commands({}))")
    for name in ("YuiSubmit", "YuiApply", "YuiDiscard", "YuiDiff", "YuiLog", "YuiLogs",
                 "YuiResolve", "YuiClear"):
        assert name in commands


def test_a_result_waiting_for_review_is_counted_apart_and_no_changes_is_said(
        editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    update(editor, task_id="a", title="Fix parser", status="review", progress=0.9)
    update(editor, task_id="b", title="Docs", status="running", progress=0.5)
    assert editor.statusline() == "yui: 1 running, 1 to review | Docs 50%"
    update(editor, task_id="b", title="Docs", status="completed", progress=1.0,
           outcome="no_changes", agent_errors=["a file change was failed"])
    assert editor.notifications()[-1]["msg"] == (
        "yui: task 'Docs' completed with no changes: a file change was failed")
    update(editor, task_id="c", title="Lint", status="cancelled", error="cancelled")
    assert editor.notifications()[-1]["msg"] == "yui: task 'Lint' cancelled"


def test_tasks_are_kept_per_client(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    for client_id, task in ((1, "one"), (2, "two")):
        editor.lua("require('yui').on_task_update(nil, vim.json.decode(...), { client_id = "
                   f"{client_id} }})", json.dumps({"task_id": task, "title": task,
                                                    "status": "running", "progress": 0.5}))
    ids = "return vim.tbl_map(function(t) return t.id end, require('yui.tasks').all(...))"
    assert editor.lua(ids, 1) == ["one"]
    assert editor.lua(ids) == ["one", "two"]
    editor.lua("require('yui.tasks').reset(1)")
    assert editor.lua(ids) == ["two"]


def test_the_lease_matcher_agrees_with_the_shared_claim_table(editor: Editor) -> None:
    table = json.loads((REPO / "tests" / "fixtures" / "claims.json").read_text(encoding="utf-8"))
    cases = table["cases"]
    got = editor.lua("local leases = require('yui.leases'); return vim.tbl_map(function(c)"
                     " return leases.covers(c.claim, c.path) end, vim.json.decode(...))",
                     json.dumps(cases))
    wrong = [(c["claim"], c["path"], c["matches"]) for c, g in zip(cases, got, strict=True)
             if g is not c["matches"]]
    assert wrong == []


def test_checkhealth_reports_bubblewrap(editor: Editor) -> None:
    editor.setup(**NO_SERVER)
    editor.cmd("checkhealth yui")
    report = "\n".join(editor.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)"))
    assert "bubblewrap (bwrap)" in report


def test_the_nearest_repository_is_the_root_whatever_a_folder_above_holds(
        editor: Editor, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".yui").mkdir(parents=True)  # yui was once run in the home folder
    app = home / "code" / "app"
    (app / ".git").mkdir(parents=True)
    (app / "src").mkdir()
    (app / "src" / "main.py").write_text("x = 1\n")
    editor.setup(**NO_SERVER)
    editor.cmd(f"edit {app / 'src' / 'main.py'}")
    root = editor.lua("local found; vim.lsp.config['yui'].root_dir("
                      "vim.api.nvim_get_current_buf(), function(dir) found = dir end)"
                      " return found")
    assert root == str(app)
