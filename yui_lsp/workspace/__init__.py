"""The workspace layer: everything about files.

Leases (who may change what), sandboxes (where agents work), change sets and three-way
integration (what a task changed, merged with what the user has now), and the journaled
atomic apply with crash recovery and undo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yui_lsp.lazyimport import exports

if TYPE_CHECKING:
    from yui_lsp.workspace.apply import JournaledApplier, UndoReport, recover, undo
    from yui_lsp.workspace.leases import LeaseTable
    from yui_lsp.workspace.merge import (
        DiskReader,
        MergeOutcome,
        as_text,
        integrate,
        is_text,
        merge3,
    )
    from yui_lsp.workspace.overlay import UnsavedDocuments, overlay_documents
    from yui_lsp.workspace.paths import (
        ClaimSet,
        claims_overlap,
        expand_claims,
        folders_checked_once,
        path_matches,
        refuse_protected,
        resolve_inside,
        to_rel,
        validate_claims,
    )
    from yui_lsp.workspace.pool import SandboxPool
    from yui_lsp.workspace.sandbox import Sandbox
    from yui_lsp.workspace.statedir import state_dir
    from yui_lsp.workspace.types import (
        Applier,
        Integration,
        MergedFile,
        StaleContentError,
        WorkspaceReader,
    )

__all__ = [
    "Applier",
    "ClaimSet",
    "DiskReader",
    "Integration",
    "JournaledApplier",
    "LeaseTable",
    "MergeOutcome",
    "MergedFile",
    "Sandbox",
    "SandboxPool",
    "StaleContentError",
    "UndoReport",
    "UnsavedDocuments",
    "WorkspaceReader",
    "as_text",
    "claims_overlap",
    "expand_claims",
    "folders_checked_once",
    "integrate",
    "is_text",
    "merge3",
    "overlay_documents",
    "path_matches",
    "recover",
    "refuse_protected",
    "resolve_inside",
    "state_dir",
    "to_rel",
    "undo",
    "validate_claims",
]

# Imported on first use: see yui_lsp/lazyimport.py.
__getattr__ = exports(__name__, globals(), {
    "JournaledApplier": "yui_lsp.workspace.apply",
    "UndoReport": "yui_lsp.workspace.apply",
    "recover": "yui_lsp.workspace.apply",
    "undo": "yui_lsp.workspace.apply",
    "LeaseTable": "yui_lsp.workspace.leases",
    "DiskReader": "yui_lsp.workspace.merge",
    "MergeOutcome": "yui_lsp.workspace.merge",
    "as_text": "yui_lsp.workspace.merge",
    "integrate": "yui_lsp.workspace.merge",
    "is_text": "yui_lsp.workspace.merge",
    "merge3": "yui_lsp.workspace.merge",
    "UnsavedDocuments": "yui_lsp.workspace.overlay",
    "overlay_documents": "yui_lsp.workspace.overlay",
    "ClaimSet": "yui_lsp.workspace.paths",
    "claims_overlap": "yui_lsp.workspace.paths",
    "expand_claims": "yui_lsp.workspace.paths",
    "folders_checked_once": "yui_lsp.workspace.paths",
    "path_matches": "yui_lsp.workspace.paths",
    "refuse_protected": "yui_lsp.workspace.paths",
    "resolve_inside": "yui_lsp.workspace.paths",
    "to_rel": "yui_lsp.workspace.paths",
    "validate_claims": "yui_lsp.workspace.paths",
    "SandboxPool": "yui_lsp.workspace.pool",
    "Sandbox": "yui_lsp.workspace.sandbox",
    "state_dir": "yui_lsp.workspace.statedir",
    "Applier": "yui_lsp.workspace.types",
    "Integration": "yui_lsp.workspace.types",
    "MergedFile": "yui_lsp.workspace.types",
    "StaleContentError": "yui_lsp.workspace.types",
    "WorkspaceReader": "yui_lsp.workspace.types",
})
