"""What travels between the coordinator and a cluster node for one attempt.

Out: the base as git objects — a pack of everything reachable from HEAD, put in the cluster's
object store once per HEAD and fetched only by nodes that lack that commit, plus a small thin
pack of what the sandbox base adds to HEAD (the user's uncommitted changes) — the files of
``sandbox_include`` (untracked, e.g. ``.env``), the task and its agent profile. Never the
coordinator's environment: agents use the credentials configured on their node.

Back: the change set with the new bytes of every changed file and the base bytes merging
needs, so the coordinator merges and applies exactly as for a local sandbox.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yui_lsp.agents import AgentOutcome
from yui_lsp.agents.base import Limits
from yui_lsp.protocol import ChangeKind, ChangeSet
from yui_lsp.workspace import expand_claims
from yui_lsp.workspace.gitcmd import git
from yui_lsp.workspace.sandbox import Sandbox

#: Bumped when the payload's shape changes; a node running another one refuses the attempt.
SHIPMENT_VERSION = 2


@dataclass
class IncludedFile:
    """One untracked file the sandbox gets (``sandbox_include``)."""

    path: str
    data: bytes
    mode: int
    #: ``data`` is a symlink's target.
    link: bool = False


@dataclass
class AttemptPayload:
    """Everything a node needs to run one attempt. Plain data: it is pickled by Ray."""

    repo_key: str
    head: str
    base: str
    #: Objects ``base`` has beyond ``head`` (a thin pack); empty when they are the same.
    base_pack: bytes
    #: ``[ObjectRef]`` of the pack of everything reachable from ``head`` (a list, so Ray
    #: hands the reference over and the node fetches the bytes only when it lacks ``head``).
    head_pack: list[Any]
    include: list[IncludedFile]
    task_json: str
    profile_json: str
    attempt: int
    agent_id: str
    limits: Limits
    output_line_max: int
    log_max_bytes: int
    #: The editor's unsaved documents (path → bytes), laid over the sandbox as its base.
    documents: dict[str, bytes] = field(default_factory=dict)
    version: int = SHIPMENT_VERSION


@dataclass
class ShippedChanges:
    """A change set with its bytes, as a node sends it back (a merge ``ChangeSource``)."""

    changes_json: str
    #: Content now of every changed path (None: deleted or unreadable).
    new: dict[str, bytes | None] = field(default_factory=dict)
    #: Content at base of every path merging reads (None: did not exist).
    old: dict[str, bytes | None] = field(default_factory=dict)
    files_reported: list[str] = field(default_factory=list)
    summary: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    run_s: float = 0.0

    @property
    def changes(self) -> ChangeSet:
        return ChangeSet.model_validate_json(self.changes_json)

    @property
    def outcome(self) -> AgentOutcome:
        return AgentOutcome(
            files_reported=list(self.files_reported), summary=self.summary,
            metrics=dict(self.metrics), failures=list(self.failures),
        )

    def read(self, rel: str) -> bytes | None:
        return self.new.get(rel)

    def base_bytes(self, rel: str) -> bytes | None:
        return self.old.get(rel)


def repo_key(root: Path) -> str:
    """Names a workspace on the nodes: its host and real path, hashed."""
    real = os.path.realpath(root)
    return hashlib.sha256(f"{socket.gethostname()}:{real}".encode()).hexdigest()[:16]


def pack_objects(
    root: Path, want: str, have: str | None = None, objects: Path | None = None
) -> bytes:
    """A pack of the objects reachable from ``want`` (thin against ``have`` when given).

    ``objects`` is an extra object folder to read from (the sandbox pool's own store, where
    base commits of the user's uncommitted changes live); nothing is written anywhere.
    """
    revs = f"{want}\n" + (f"^{have}\n" if have else "")
    args = ["pack-objects", "--revs", "--stdout", "-q"] + (["--thin"] if have else [])
    env = {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects)} if objects else None
    return git(args, cwd=root, stdin=revs.encode(), env=env).stdout


def included_files(root: Path, include: list[str]) -> list[IncludedFile]:
    """The ``sandbox_include`` files of the workspace (symlinks only when they stay inside)."""
    real_root = os.path.realpath(root)
    files: list[IncludedFile] = []
    for rel in expand_claims(root, include):
        src = root / rel
        if src.is_symlink():
            target = os.path.realpath(src)
            if target == real_root or target.startswith(real_root + os.sep):
                files.append(IncludedFile(rel, os.fsencode(os.readlink(src)), 0o777, link=True))
        elif src.is_file():
            mode = stat.S_IMODE(src.stat().st_mode)
            files.append(IncludedFile(rel, src.read_bytes(), mode))
    return files


def place_included(folder: Path, files: list[IncludedFile]) -> None:
    """Write shipped ``sandbox_include`` files into a sandbox."""
    for item in files:
        dst = folder / item.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        if item.link:
            os.symlink(os.fsdecode(item.data), dst)
        else:
            dst.write_bytes(item.data)
            os.chmod(dst, item.mode)


def ship_changes(sandbox: Sandbox, outcome: AgentOutcome, run_s: float) -> ShippedChanges:
    """Diff ``sandbox`` and gather the bytes the coordinator's merge will read."""
    changes = sandbox.diff()
    shipped = ShippedChanges(
        changes_json=changes.model_dump_json(), files_reported=list(outcome.files_reported),
        summary=outcome.summary, metrics=dict(outcome.metrics),
        failures=list(outcome.failures), run_s=run_s,
    )
    for change in changes.changes:
        source = change.old_path if change.kind is ChangeKind.RENAME and change.old_path else (
            change.path)
        shipped.old[source] = sandbox.base_bytes(source)
        if change.kind is not ChangeKind.DELETE:
            shipped.new[change.path] = sandbox.read(change.path)
    return shipped
