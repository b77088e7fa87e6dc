"""The language server refuses a workspace folder that does not exist (its rootUri, or one
added later) with a message, and never creates it; other folders keep working."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from tests.server.conftest import make_repo
from tests.server.editor import Editor, start_editor


@pytest.fixture
async def editors() -> AsyncIterator[list[Editor]]:
    started: list[Editor] = []
    yield started
    for editor in started:
        await editor.client.shutdown_session()
        await editor.client.stop()  # type: ignore[no-untyped-call]


def _refusals(editor: Editor) -> list[str]:
    return [m.message for m in editor.client.messages if "does not exist" in m.message]


async def test_a_root_uri_that_does_not_exist_is_refused(
    editors: list[Editor], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent" / "zzz"
    editor = await start_editor(missing, tmp_path / "cache")
    editors.append(editor)
    (message,) = await editor.until(lambda: _refusals(editor))
    assert message.startswith(f"yui: the workspace folder {missing} does not exist")
    assert not (tmp_path / "nonexistent").exists()


async def test_an_added_folder_that_does_not_exist_is_refused(
    editors: list[Editor], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    editor = await start_editor(repo, tmp_path / "cache")
    editors.append(editor)
    missing = tmp_path / "gone"
    editor.client.workspace_did_change_workspace_folders(lsp.DidChangeWorkspaceFoldersParams(
        event=lsp.WorkspaceFoldersChangeEvent(
            added=[lsp.WorkspaceFolder(uri=str(from_fs_path(str(missing))), name="gone")],
            removed=[])))
    await editor.until(lambda: _refusals(editor))
    assert not missing.exists()
    listed = await editor.run("yui.listTasks")  # the first folder still answers
    assert listed["tasks"] == []
