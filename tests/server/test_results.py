"""A task's result lands in the editor through one versioned workspace/applyEdit."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from tests.server.conftest import EditorFactory
from tests.server.editor import capabilities, python_command

#: Rewrites the first line of src/a.py and appends to src/b.py, after ``delay`` seconds.
EDIT_A_AND_B = """
import pathlib, sys, time
time.sleep(float(sys.argv[1]))
a = pathlib.Path('src/a.py')
a.write_text(a.read_text().replace('x = 1', 'x = 42'))
b = pathlib.Path('src/b.py')
b.write_text(b.read_text() + 'c = 2\\n')
print('edited a and b', flush=True)
"""


def edit_task(delay: float = 0.0, **extra: object) -> dict[str, object]:
    return {"title": "bump x", "agent": "yui", "claims": ["src/a.py", "src/b.py"],
            "command": [*python_command(EDIT_A_AND_B), str(delay)], **extra}


async def test_result_arrives_as_one_labelled_edit_with_the_buffer_version(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    editor.open("src/a.py")
    editor.type("src/a.py", "x = 1\ny = 2\nz = 3\n")  # version 2, same text

    answer = await editor.run("yui.submitTask", edit_task())
    task_id = answer["taskId"]
    end = await editor.finished(task_id)

    assert end["status"] == "completed", end
    assert len(editor.edits) == 1
    params = editor.edits[0]
    assert params.label == "yui: bump x"
    versions = {change.text_document.uri: change.text_document.version
                for change in params.edit.document_changes or []
                if isinstance(change, lsp.TextDocumentEdit)}
    assert versions == {editor.uri("src/a.py"): 2, editor.uri("src/b.py"): None}
    assert editor.text("src/a.py") == "x = 42\ny = 2\nz = 3\n"
    assert (repo / "src" / "b.py").read_text() == "b = 1\nc = 2\n"
    assert sorted(end["files_modified"]) == ["src/a.py", "src/b.py"]


async def test_typing_while_the_agent_works_is_kept(open_editor: EditorFactory) -> None:
    editor = await open_editor()
    editor.open("src/a.py")
    answer = await editor.run("yui.submitTask", edit_task(delay=1.5))
    task_id = answer["taskId"]
    await editor.until(lambda: any(u["status"] == "running" for u in editor.updates(task_id)))
    editor.type("src/a.py", "x = 1\ny = 2\nz = 3\n# typed by the user\n")

    end = await editor.finished(task_id)

    assert end["status"] == "completed", end
    assert editor.text("src/a.py") == "x = 42\ny = 2\nz = 3\n# typed by the user\n"


async def test_edit_refused_because_the_user_typed_is_merged_again(
        open_editor: EditorFactory) -> None:
    editor = await open_editor()
    editor.open("src/a.py")
    refusals: list[str] = []

    def type_first(params: lsp.ApplyWorkspaceEditParams) -> str | None:
        if refusals:
            return None
        # The user types just as the edit arrives: the buffer moves, the edit is refused.
        editor.type("src/a.py", editor.text("src/a.py") + "w = 4\n")
        refusals.append("refused")
        return "document version changed"

    editor.before_apply = type_first
    answer = await editor.run("yui.submitTask", edit_task())
    end = await editor.finished(answer["taskId"])

    assert end["status"] == "completed", end
    assert len(editor.edits) == 2, "the refused edit is merged again and resent"
    assert editor.text("src/a.py") == "x = 42\ny = 2\nz = 3\nw = 4\n"
    second = editor.edits[1].edit.document_changes or []
    versions = [c.text_document.version for c in second if isinstance(c, lsp.TextDocumentEdit)
                and c.text_document.uri == editor.uri("src/a.py")]
    assert versions == [2]


async def test_new_and_deleted_files_use_resource_operations(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor()
    code = ("import pathlib; pathlib.Path('src/new.py').write_text('n = 1\\n'); "
            "pathlib.Path('src/b.py').unlink()")
    answer = await editor.run("yui.submitTask", {
        "title": "reshape", "agent": "yui", "claims": ["src/**"],
        "command": python_command(code)})
    end = await editor.finished(answer["taskId"])

    assert end["status"] == "completed", end
    changes = editor.edits[0].edit.document_changes or []
    kinds = {type(c).__name__ for c in changes}
    assert {"CreateFile", "DeleteFile", "TextDocumentEdit"} <= kinds
    assert (repo / "src" / "new.py").read_text() == "n = 1\n"
    assert not (repo / "src" / "b.py").exists()


async def test_review_mode_waits_for_apply_result(open_editor: EditorFactory) -> None:
    editor = await open_editor({"applyMode": "review"})
    editor.open("src/a.py")
    answer = await editor.run("yui.submitTask", edit_task())
    task_id = answer["taskId"]

    ready = await editor.until(lambda: [p for m, p in editor.notifications
                                        if m == "yui/resultReady"])
    assert ready[0]["task_id"] == task_id
    assert sorted(ready[0]["paths"]) == ["src/a.py", "src/b.py"]
    assert editor.edits == [], "nothing is applied before the user approves"

    await editor.run("yui.applyResult", {"taskId": task_id})
    end = await editor.finished(task_id)
    assert end["status"] == "completed"
    assert editor.text("src/a.py").startswith("x = 42\n")


async def test_discarding_a_held_result_changes_nothing(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor({"applyMode": "review"})
    answer = await editor.run("yui.submitTask", edit_task())
    task_id = answer["taskId"]
    await editor.until(lambda: [m for m, _ in editor.notifications if m == "yui/resultReady"])

    await editor.run("yui.discardResult", {"taskId": task_id})
    end = await editor.finished(task_id)

    assert end["status"] == "cancelled"
    assert editor.edits == []
    assert (repo / "src" / "a.py").read_text() == "x = 1\ny = 2\nz = 3\n"


async def test_client_without_document_changes_gets_changes_and_new_files_on_disk(
        open_editor: EditorFactory, repo: Path) -> None:
    editor = await open_editor(caps=capabilities(document_changes=False))
    editor.open("src/a.py")
    code = ("import pathlib; a = pathlib.Path('src/a.py'); "
            "a.write_text(a.read_text().replace('y = 2', 'y = 20')); "
            "pathlib.Path('src/made.py').write_text('m = 1\\n')")
    answer = await editor.run("yui.submitTask", {
        "title": "plain", "agent": "yui", "claims": ["src/**"], "command": python_command(code)})
    end = await editor.finished(answer["taskId"])

    assert end["status"] == "completed", end
    (params,) = editor.edits
    assert params.edit.document_changes is None
    assert list(params.edit.changes or {}) == [editor.uri("src/a.py")]
    assert editor.text("src/a.py") == "x = 1\ny = 20\nz = 3\n"
    assert (repo / "src" / "made.py").read_text() == "m = 1\n"
