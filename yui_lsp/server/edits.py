"""Turning a merged task result into one LSP ``WorkspaceEdit``.

Edits are line-granular (whole lines replaced, positions at column 0) so they need no
knowledge of the client's position encoding, except at the end of a last line that has no
newline, where the column is measured in the negotiated encoding.

Shapes every client applies byte for byte: lines end only at ``\n``, ``\r\n`` or ``\r``
(what LSP counts; Python's ``splitlines`` also splits at form feeds and U+2028), and no
edit *starts* past the last line. An insertion after a final line break would start on the
empty line after it, which Neovim turns into an extra blank line; such an edit replaces the
last line instead (its text plus the insertion). Ranges may *end* there: every client clamps
that to the end of the text. Whether the text ends with a line break is Neovim's ``'eol'``
option, which no text edit changes; ``yui/resultApplied`` tells the client
(``no_final_newline``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from lsprotocol import types as lsp

from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import MergedFile


def _width(text: str, encoding: str) -> int:
    if encoding == lsp.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    if encoding == lsp.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _position(lines: list[str], index: int, encoding: str) -> lsp.Position:
    """Start of line ``index``, or the end of the text when ``index`` is past it."""
    if index < len(lines) or not lines or lines[-1].endswith(("\n", "\r")):
        return lsp.Position(line=index, character=0)
    return lsp.Position(line=len(lines) - 1, character=_width(lines[-1], encoding))


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where LSP splits (``\n``, ``\r\n``, ``\r``)."""
    return _LINE.findall(text)


def ends_with_line_break(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def line_edits(old: str, new: str, encoding: str = "utf-16") -> list[lsp.TextEdit]:
    """Minimal whole-line edits turning ``old`` into ``new`` (the cursor keeps its place)."""
    before = split_lines(old)
    after = split_lines(new)
    edits: list[lsp.TextEdit] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replacement = "".join(after[j1:j2])
        if i1 == len(before) and i1 > 0:
            # Past the last line: replace the last line instead (see the module docstring).
            i1 -= 1
            replacement = before[i1] + replacement
        edits.append(lsp.TextEdit(
            range=lsp.Range(start=_position(before, i1, encoding),
                            end=_position(before, i2, encoding)),
            new_text=replacement,
        ))
    return edits


def decode(data: bytes | None) -> str:
    """Text of a file's bytes (merges only hand text files to the editor)."""
    return "" if data is None else data.decode("utf-8")


@dataclass
class Target:
    """Where one merged file lands: an open buffer (with version) or a closed file."""

    uri: str
    version: int | None
    old_uri: str | None = None


@dataclass
class EditPlan:
    """A WorkspaceEdit in the making, in both shapes the protocol offers."""

    encoding: str
    document_changes: list[
        lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile
    ] = field(default_factory=list)
    changes: dict[str, list[lsp.TextEdit]] = field(default_factory=dict)
    #: Files created, renamed or deleted: a `changes`-only client cannot do these, so for
    #: such clients the server writes them on disk itself (whole new content).
    disk_operations: list[MergedFile] = field(default_factory=list)

    def add(self, merged: MergedFile, target: Target) -> None:
        old_text = decode(merged.expected)
        new_text = decode(merged.content)
        if merged.kind == ChangeKind.DELETE:
            self.document_changes.append(lsp.DeleteFile(
                uri=target.uri, options=lsp.DeleteFileOptions(ignore_if_not_exists=True)))
            self.disk_operations.append(merged)
            return
        if merged.kind == ChangeKind.CREATE or merged.expected is None:
            self.document_changes.append(lsp.CreateFile(
                uri=target.uri, options=lsp.CreateFileOptions(overwrite=False,
                                                              ignore_if_exists=False)))
            self.disk_operations.append(merged)
            old_text = ""
        elif merged.kind == ChangeKind.RENAME and target.old_uri is not None:
            self.document_changes.append(lsp.RenameFile(
                old_uri=target.old_uri, new_uri=target.uri,
                options=lsp.RenameFileOptions(overwrite=False, ignore_if_exists=False)))
            self.disk_operations.append(merged)
        edits = line_edits(old_text, new_text, self.encoding)
        if not edits:
            return
        if merged.kind == ChangeKind.MODIFY and merged.expected is not None:
            self.changes.setdefault(target.uri, []).extend(edits)
        identifier = lsp.OptionalVersionedTextDocumentIdentifier(
            uri=target.uri, version=None if merged.kind != ChangeKind.MODIFY else target.version)
        self.document_changes.append(lsp.TextDocumentEdit(text_document=identifier,
                                                          edits=list(edits)))

    def workspace_edit(self, use_document_changes: bool) -> lsp.WorkspaceEdit:
        if use_document_changes:
            return lsp.WorkspaceEdit(document_changes=list(self.document_changes))
        # Creates, renames and deletes are done on disk by the server for such clients.
        text_only = {uri: edits for uri, edits in self.changes.items() if edits}
        return lsp.WorkspaceEdit(changes=text_only)
