"""Workspace folders a client adds or removes oddly: folders that cannot be hosted are
refused with a message (no traceback), and a folder removed and added again at once is
coordinated again."""

from __future__ import annotations

import sys
import time
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


@pytest.mark.parametrize("where", ["missing", "a file", "untitled", "nul", "not a uri"])
def test_a_folder_that_cannot_be_hosted_leaves_the_server_serving(tmp_path: Path,
                                                                   where: str) -> None:
    (tmp_path / "afile").write_text("x")
    uri = {"missing": (tmp_path / "missing").as_uri(), "a file": (tmp_path / "afile").as_uri(),
           "untitled": "untitled:x", "nul": (tmp_path / "x").as_uri() + "%00y",
           "not a uri": "::::"}[where]
    with serving(tmp_path / "s") as server:
        before = len(server.stderr())
        folders_changed(server, [uri], [])
        server.assert_serving(before)
        folders_changed(server, [], [uri])
        assert "result" in server.command("yui.submitTask", {
            "title": "t", "agent": "yui", "command": QUICK})
        server.assert_serving(before)


def test_a_folder_removed_and_added_again_at_once_is_coordinated_again(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        assert server.root is not None
        root = server.root.as_uri()
        before = len(server.stderr())
        assert "result" in server.command("yui.listTasks", {})  # the folder is hosted
        folders_changed(server, [], [root])
        gone = server.command("yui.submitTask", {"title": "t", "agent": "yui",
                                                 "command": QUICK})
        assert gone["error"]["code"] == -32602, gone  # no folder open: said so
        assert "no workspace folder" in gone["error"]["message"]
        folders_changed(server, [root], [])
        submitted = server.command("yui.submitTask", {"title": "t", "agent": "yui",
                                                      "command": QUICK})
        task_id = submitted["result"]["taskId"]
        deadline = time.monotonic() + 30
        while True:
            listed = server.command("yui.listTasks", {})["result"]["tasks"]
            states = {info["task"]["id"]: info["status"] for info in listed}
            if states.get(task_id) == "completed":
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.05)
        server.assert_serving(before)


def test_a_folder_removed_while_it_is_being_added_stays_removed(tmp_path: Path) -> None:
    with serving(tmp_path) as server:  # its coordinator is starting now
        assert server.root is not None
        before = len(server.stderr())
        folders_changed(server, [], [server.root.as_uri()])
        gone = server.command("yui.submitTask", {"title": "t", "agent": "yui",
                                                 "command": QUICK})
        assert "no workspace folder" in gone.get("error", {}).get("message", ""), gone
        server.assert_serving(before)
