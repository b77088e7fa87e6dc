"""Laying the editor's unsaved text over a sandbox, as a step of its hand-out.

When the language server hosts the coordinator, the workspace a task must see is the one
the editor holds: open documents' current text over the files on disk (results applied as
unsaved edits included). A sandbox is built from disk, so this step writes each open
document whose text differs into the sandbox and records the result as the sandbox's new
base commit (a child of the old one), so the three-way merge uses that same text as base.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.workspace.gitcmd import git, git_out
from yui_lsp.workspace.paths import resolve_inside
from yui_lsp.workspace.sandbox import Sandbox

_MESSAGE = "yui: sandbox base (with the editor's unsaved documents)"
_SKIP = (".git/", ".yui/")


@runtime_checkable
class UnsavedDocuments(Protocol):
    """A workspace reader that knows the editor's open documents."""

    def open_documents(self) -> dict[str, bytes]:
        """Workspace-relative path -> current text of every open document."""
        ...


def overlay_documents(sandbox: Sandbox, documents: dict[str, bytes]) -> list[str]:
    """Write ``documents`` that differ into ``sandbox`` and make that its base; returns them."""
    changed: list[str] = []
    for rel, text in sorted(documents.items()):
        if rel.startswith(_SKIP) or "\x00" in rel:
            continue
        try:
            path = resolve_inside(sandbox.path, rel)
        except PathOutsideWorkspaceError:  # a path leading out of the sandbox: never written
            continue
        if path.is_symlink() or path.is_dir():
            continue
        try:
            if path.read_bytes() == text:
                continue
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.yui-overlay")
        tmp.write_bytes(text)
        os.replace(tmp, path)
        changed.append(rel)
    if not changed:
        return changed
    spec = b"\0".join(os.fsencode(rel) for rel in changed)
    git([*sandbox.git_args(), "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
        env={"GIT_LITERAL_PATHSPECS": "1"}, stdin=spec)
    tree = git_out([*sandbox.git_args(), "write-tree"])
    base = git_out([*sandbox.git_args(), "commit-tree", tree, "-p", sandbox.base,
                    "-m", _MESSAGE])
    git([*sandbox.git_args(), "update-ref", "--no-deref", "HEAD", base])
    sandbox.base = sandbox.clean_at = base
    sandbox.give_agent_git()  # the agent's own git sees the overlay as its HEAD too
    return changed
