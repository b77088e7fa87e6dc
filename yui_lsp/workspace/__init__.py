"""The workspace layer: everything about files.

Leases (who may change what), sandboxes (where agents work), change sets and three-way
integration (what a task changed, merged with what the user has now), and the journaled
atomic apply with crash recovery and undo.
"""

from yui_lsp.workspace.apply import JournaledApplier, UndoReport, recover, undo
from yui_lsp.workspace.leases import LeaseTable
from yui_lsp.workspace.merge import DiskReader, MergeOutcome, as_text, integrate, is_text, merge3
from yui_lsp.workspace.overlay import UnsavedDocuments, overlay_documents
from yui_lsp.workspace.paths import (
    ClaimSet,
    claims_overlap,
    expand_claims,
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
