"""The fidelity table (tests/fixtures/fidelity.json) through real Neovim and the real server:
every result lands byte for byte, in open buffers and closed files, and reaches the disk
(saveAfterApply "clean") with no hidden modified buffers left behind."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from editor_harness import REPO, Editor, git
from test_nvim_e2e import yui  # noqa: F401  (fixture: the plugin against this checkout)

pytestmark = [pytest.mark.nvim, pytest.mark.slow]

CASES: list[dict[str, Any]] = json.loads(
    (REPO / "tests" / "fixtures" / "fidelity.json").read_text(encoding="utf-8"))["cases"]
WRITE_ALL = ("import sys\nfor path, data in zip(sys.argv[1::2], sys.argv[2::2]):\n"
             "    open(path, 'wb').write(bytes.fromhex(data))\n")


def test_every_shape_lands_byte_exact_and_reaches_the_disk(
        request: pytest.FixtureRequest) -> None:
    nvim: Editor = request.getfixturevalue("yui")
    root = nvim.workspace
    for case in CASES:
        for where in ("open", "closed"):
            (root / where).mkdir(exist_ok=True)
            (root / where / case["path"]).write_bytes(case["before"].encode())
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fidelity files")
    buffers = {}
    for case in CASES:
        buffers[case["name"]] = nvim.edit(f"open/{case['path']}")
    assert nvim.wait("#vim.lsp.get_clients({ name = 'yui' }) > 0 and "
                    "vim.lsp.get_clients({ name = 'yui' })[1].initialized", 30)
    argv = [sys.executable, "-c", WRITE_ALL]
    for case in CASES:
        for where in ("open", "closed"):
            argv += [f"{where}/{case['path']}", case["after"].encode().hex()]
    nvim.lua("require('yui').submit(vim.json.decode(...), function(r) _G.fid = r.taskId end)",
            json.dumps({"title": "fidelity", "agent": "shell", "command": argv,
                        "claims": ["open/**", "closed/**"]}))
    assert nvim.wait("_G.fid ~= nil and require('yui.tasks').get(_G.fid) ~= nil and "
                    "require('yui.tasks').get(_G.fid).status == 'completed'", 60), \
        nvim.lua("return vim.inspect(require('yui.tasks').all())")
    assert nvim.wait("vim.iter(vim.api.nvim_list_bufs()):all(function(b) "
                    "return not vim.bo[b].modified end)", 10)
    for case in CASES:
        text = nvim.lua("return vim.lsp._buf_get_full_text(...)", buffers[case["name"]])
        assert text == case["after"], case["name"]
        for where in ("open", "closed"):
            assert (root / where / case["path"]).read_bytes() == case["after"].encode(), \
                (where, case["name"])
    hidden = nvim.lua("return vim.tbl_map(vim.api.nvim_buf_get_name, vim.tbl_filter(function(b)"
                     " return vim.api.nvim_buf_is_loaded(b) and vim.bo[b].modified end,"
                     " vim.api.nvim_list_bufs()))")
    assert hidden == []
