"""Byte-exact results: the fidelity table (tests/fixtures/fidelity.json) through the server.

The editor here applies edits exactly as the LSP specification says; the same table runs
through real Neovim in tests/editors/ (and VS Code), whose quirks the edit shapes avoid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import EditorFactory, git
from tests.server.editor import apply_text_edits, python_command
from yui_lsp.server.edits import line_edits

TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "fidelity.json"
CASES: list[dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))["cases"]
WRITE_ALL = ("import sys\nfor path, data in zip(sys.argv[1::2], sys.argv[2::2]):\n"
             "    open(path, 'wb').write(bytes.fromhex(data))\n")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_edits_of_each_shape_apply_exactly(case: dict[str, Any]) -> None:
    edits = line_edits(case["before"], case["after"])
    assert apply_text_edits(case["before"], edits) == case["after"]
    lines = len(case["before"].replace("\r\n", "\n").split("\n"))
    last = lines - 1 if case["before"].endswith(("\n", "\r")) else lines
    for edit in edits:
        # Never start past the last line a line-based editor has (Neovim adds a line there).
        assert edit.range.start.line < max(last, 1)


async def test_results_are_byte_exact_in_open_and_closed_files(
        open_editor: EditorFactory, repo: Path) -> None:
    for case in CASES:
        for where in ("open", "closed"):
            (repo / where).mkdir(exist_ok=True)
            (repo / where / case["path"]).write_bytes(case["before"].encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fidelity files")
    editor = await open_editor()
    for case in CASES:
        editor.open(f"open/{case['path']}")
    argv = python_command(WRITE_ALL)
    for case in CASES:
        for where in ("open", "closed"):
            argv += [f"{where}/{case['path']}", case["after"].encode().hex()]
    answer = await editor.run("yui.submitTask", {
        "title": "fidelity", "agent": "shell", "command": argv, "claims": ["open/**", "closed/**"]})
    update = await editor.finished(answer["taskId"])
    assert update["status"] == "completed", update
    for case in CASES:
        assert editor.text(f"open/{case['path']}") == case["after"], case["name"]
        assert (repo / "closed" / case["path"]).read_bytes() == case["after"].encode(), \
            case["name"]
    (applied,) = editor.received("yui/resultApplied")
    uris = {editor.uri(f"{w}/{c['path']}"): c for c in CASES for w in ("open", "closed")}
    assert set(applied["uris"]) == set(uris)
    # Default saveAfterApply "clean": every buffer equalled its file, so all are saved.
    assert set(applied["save"]) == set(uris)
    assert set(applied["opened"]) == {editor.uri(f"closed/{c['path']}") for c in CASES}
    assert set(applied["no_final_newline"]) == {
        uri for uri, case in uris.items() if not case["after"].endswith("\n")}
