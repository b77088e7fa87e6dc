"""Workspace folders a client adds or removes oddly: folders that cannot be hosted are
refused with a message (no traceback)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.server.raw_client import RawServer, serving

QUICK = [sys.executable, "-c", "pass"]


def folders_changed(server: RawServer, added: list[str], removed: list[str]) -> None:
    def entries(uris: list[str]) -> list[dict[str, Any]]:
        return [{"uri": uri, "name": "x"} for uri in uris]

    server.notify("workspace/didChangeWorkspaceFolders",
                  {"event": {"added": entries(added), "removed": entries(removed)}})


@pytest.mark.parametrize("where", ["missing", "a file", "untitled", "nul", "proc", "not a uri"])
def test_a_folder_that_cannot_be_hosted_leaves_the_server_serving(tmp_path: Path,
                                                                   where: str) -> None:
    (tmp_path / "afile").write_text("x")
    uri = {"missing": (tmp_path / "missing").as_uri(), "a file": (tmp_path / "afile").as_uri(),
           "untitled": "untitled:x", "nul": (tmp_path / "x").as_uri() + "%00y",
           "proc": "file:///proc", "not a uri": "::::"}[where]
    with serving(tmp_path / "s") as server:
        before = len(server.stderr())
        folders_changed(server, [uri], [])
        server.assert_serving(before)
        folders_changed(server, [], [uri])
        assert "result" in server.command("yui.submitTask", {
            "title": "t", "agent": "yui", "command": QUICK})
        server.assert_serving(before)
