"""A small editor for the end-to-end tests: a real LSP client that keeps open buffers.

It drives the real server subprocess (``python -m yui_lsp``) through pytest-lsp's client and
behaves like an editor should: documents it opened have versions that move with every
change (announced with didChange), ``workspace/applyEdit`` is refused when a versioned edit
names an older version, and edits of files it has not opened are written to disk.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

#: Every wait in these tests is bounded by this many seconds.
WAIT_S = 30.0


def _offset(text: str, position: lsp.Position) -> int:
    """Index in ``text`` of an LSP position (UTF-16 columns, clamped as the spec says)."""
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
    if position.line >= len(lines):
        return len(text)
    line = lines[position.line].rstrip("\r\n")
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return sum(len(x) for x in lines[: position.line]) + index
        units += 2 if ord(char) > 0xFFFF else 1
    return sum(len(x) for x in lines[: position.line]) + len(line)


def apply_text_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """``text`` with LSP text edits applied, exactly as the specification says."""
    spans = sorted(((_offset(text, e.range.start), _offset(text, e.range.end), e.new_text)
                    for e in edits), reverse=True)
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def plain(value: Any) -> Any:
    """JSON data as dicts and lists (pygls hands unknown objects over as named tuples)."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Editor:
    """Open buffers, received edits and notifications of one client connection."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.buffers: dict[str, tuple[int, str]] = {}
        self.edits: list[lsp.ApplyWorkspaceEditParams] = []
        self.notifications: list[tuple[str, Any]] = []
        #: Called with the edit before it is applied; returning a reason refuses it.
        self.before_apply: Callable[[lsp.ApplyWorkspaceEditParams], str | None] | None = None
        for method in ("yui/taskUpdate", "yui/locksChanged", "yui/agentOutput",
                       "yui/taskConflict", "yui/resultReady", "yui/workspaceEvent",
                       "yui/taskMetrics", "yui/resultApplied", "yui/taskLog"):
            client.feature(method)(self._recorder(method))
        def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            return self._apply(params)

        client.feature(lsp.WORKSPACE_APPLY_EDIT)(apply_edit)

    def _recorder(self, method: str) -> Callable[[Any], None]:
        def record(params: Any) -> None:
            self.notifications.append((method, plain(params)))
        return record

    def uri(self, rel: str) -> str:
        return str(from_fs_path(str(self.root / rel)))

    # ----------------------------------------------------------------- buffers

    def open(self, rel: str) -> None:
        text = (self.root / rel).read_bytes().decode("utf-8")
        self.buffers[rel] = (1, text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=self.uri(rel), language_id="python",
                                               version=1, text=text)))

    def type(self, rel: str, text: str) -> None:
        """Replace the buffer's text, as a user typing would."""
        version = self.buffers[rel][0] + 1
        self.buffers[rel] = (version, text)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=self.uri(rel),
                                                              version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))

    def text(self, rel: str) -> str:
        return self.buffers[rel][1]

    def _rel(self, uri: str) -> str:
        return Path(str(to_fs_path(uri))).relative_to(self.root).as_posix()

    def _apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        self.edits.append(params)
        if self.before_apply is not None:
            reason = self.before_apply(params)
            if reason:
                return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason=reason)
        for change in params.edit.document_changes or []:
            if isinstance(change, lsp.TextDocumentEdit):
                rel = self._rel(change.text_document.uri)
                if rel in self.buffers and change.text_document.version not in (
                        None, self.buffers[rel][0]):
                    return lsp.ApplyWorkspaceEditResult(
                        applied=False, failure_reason="document version changed")
        for change in params.edit.document_changes or []:
            self._apply_change(change)
        for uri, edits in (params.edit.changes or {}).items():
            self._apply_change(lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=list(edits)))
        return lsp.ApplyWorkspaceEditResult(applied=True)

    def _apply_change(self, change: Any) -> None:
        if isinstance(change, lsp.CreateFile):
            path = self.root / self._rel(change.uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
        elif isinstance(change, lsp.DeleteFile):
            (self.root / self._rel(change.uri)).unlink(missing_ok=True)
        elif isinstance(change, lsp.RenameFile):
            os.replace(self.root / self._rel(change.old_uri), self.root / self._rel(change.new_uri))
        elif isinstance(change, lsp.TextDocumentEdit):
            rel = self._rel(change.text_document.uri)
            edits = [e for e in change.edits if isinstance(e, lsp.TextEdit)]
            if rel in self.buffers:
                self.type(rel, apply_text_edits(self.buffers[rel][1], edits))
            else:
                path = self.root / rel
                old = path.read_bytes().decode("utf-8")
                path.write_bytes(apply_text_edits(old, edits).encode("utf-8"))

    # ----------------------------------------------------------------- waiting

    def received(self, method: str) -> list[dict[str, Any]]:
        """Payloads of every ``method`` notification so far."""
        return [dict(p) for m, p in self.notifications if m == method]

    def leases(self, folder: str | None = None) -> dict[str, dict[str, Any]]:
        """The lease table the ``yui/locksChanged`` notifications so far add up to, by
        (path, task): a whole table replaces it, a change replaces its tasks' leases."""
        table: dict[str, dict[str, Any]] = {}
        for payload in self.received("yui/locksChanged"):
            if folder is not None and payload["folder"] != folder:
                continue
            tasks = payload.get("tasks")
            if tasks is None:
                table = {}
            else:
                table = {k: v for k, v in table.items() if v["locked_by"] not in tasks}
            table.update((f"{r['file_path']} {r['locked_by']}", r) for r in payload["locks"])
        return table

    def updates(self, task_id: str) -> list[dict[str, Any]]:
        return [dict(p) for m, p in self.notifications
                if m == "yui/taskUpdate" and p["task_id"] == task_id]

    async def until(self, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """Wait until ``check()`` is truthy; return its value."""
        async with asyncio.timeout(timeout):
            while not (value := check()):
                await asyncio.sleep(0.02)
        return value

    async def finished(self, task_id: str, timeout: float = WAIT_S) -> dict[str, Any]:
        """The task's terminal update."""
        return await self.ended_after(task_id, 0, timeout)

    async def ended_after(self, task_id: str, seen: int,
                          timeout: float = WAIT_S) -> dict[str, Any]:
        """The first terminal update of ``task_id`` after its first ``seen`` updates."""
        terminal = {"completed", "failed", "cancelled", "conflict"}
        update: dict[str, Any] = await self.until(lambda: next(
            (u for u in self.updates(task_id)[seen:] if u["status"] in terminal), None),
            timeout)
        return update

    async def run(self, command: str, argument: Any = None) -> Any:
        return plain(await self.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command=command, arguments=[argument] if argument is not None else [])))


def capabilities(*, document_changes: bool = True) -> lsp.ClientCapabilities:
    """What a modern editor announces."""
    return lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            apply_edit=True, configuration=True,
            workspace_edit=lsp.WorkspaceEditClientCapabilities(
                document_changes=document_changes,
                resource_operations=[lsp.ResourceOperationKind.Create,
                                     lsp.ResourceOperationKind.Rename,
                                     lsp.ResourceOperationKind.Delete],
                failure_handling=lsp.FailureHandlingKind.Transactional),
            code_lens=lsp.CodeLensWorkspaceClientCapabilities(refresh_support=False)),
        window=lsp.WindowClientCapabilities(work_done_progress=True),
    )


async def start_editor(root: Path, cache: Path, options: dict[str, Any] | None = None,
                       caps: lsp.ClientCapabilities | None = None,
                       folders: list[Path] | None = None) -> Editor:
    """Start ``python -m yui_lsp`` on ``root`` and initialize it like an editor would.

    With ``folders`` the editor opens those workspace folders (a multi-root workspace) and
    ``root`` is a directory above them all that buffer paths are relative to.
    """
    client = make_test_lsp_client()
    editor = Editor(client, root)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "CI": "true"}
    await client.start_io(sys.executable, "-m", "yui_lsp", env=env)
    init = {"sandboxDir": str(cache / "sandboxes"), "retryBackoffS": 0.01, **(options or {})}
    opened = folders or [root]
    await client.initialize_session(lsp.InitializeParams(
        capabilities=caps or capabilities(),
        root_uri=str(from_fs_path(str(opened[0]))),
        workspace_folders=[lsp.WorkspaceFolder(uri=str(from_fs_path(str(folder))),
                                               name=folder.name) for folder in opened],
        initialization_options=init,
    ))
    return editor


def python_command(code: str) -> list[str]:
    """argv running ``code`` with this Python (the `yui` worker's command)."""
    return [sys.executable, "-c", code]
