"""One task's sandbox: a private tree where its agent works, and what it changed there.

Every sandbox is a git work tree whose ``base`` commit records exactly what it held when it
was handed out (HEAD plus the user's uncommitted changes), with a git directory of yui's own
beside it (never the user's ``.git``, never the agent's ``<sandbox>/.git``; see
:mod:`yui_lsp.workspace.gitdir`). For a git repository it borrows the repository's objects
read-only; for a plain folder it is a copy. Diffing is then git's job: exact, fast, and
rename detection by identical content. Everything in the work tree is the agent's and
untrusted: git runs on it only with isolated config, and nothing here follows a link.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.protocol import ChangeKind, ChangeSet, FileChange
from yui_lsp.workspace import safe_fs
from yui_lsp.workspace.gitcmd import GitError, git, git_out, split_z
from yui_lsp.workspace.gitdir import ObjectSource, give_agent_git_dir, harden, head_of
from yui_lsp.workspace.merge import is_text
from yui_lsp.workspace.paths import refuse_protected
from yui_lsp.workspace.staging import UnsafeChangeError, stage, status_entries
from yui_lsp.workspace.statcache import unseen_changes

#: A full commit id (SHA-1 or SHA-256 repositories).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REGULAR = 0o100644
_SYMLINK = 0o120000
_KINDS = {"M": ChangeKind.MODIFY, "T": ChangeKind.MODIFY, "A": ChangeKind.CREATE,
          "D": ChangeKind.DELETE, "R": ChangeKind.RENAME}
#: Status codes release can undo by itself: work-tree-only edits of tracked files (restored
#: from the index, which still equals base) and new or ignored files (removed).
_UNDOABLE = frozenset({" M", " D", " T", "??", "!!"})


class Sandbox:
    """A task's private work tree."""

    def __init__(
        self, path: Path, git_dir: Path, pooled: bool, source: ObjectSource | None = None
    ) -> None:
        #: The work tree: the agent's cwd.
        self.path = path
        self.task_id = ""
        #: Commit recording what the sandbox held when handed out.
        self.base = ""
        #: yui's own git directory for this sandbox (outside the work tree).
        self.git_dir = git_dir
        #: Where its git directories borrow objects from (the user's repository).
        self.source = source or ObjectSource()
        #: Folders its agent may not write besides the workspace (set by the pool: the
        #: pool's folder, holding yui's git directories and the other sandboxes).
        self.confine_readonly: tuple[Path, ...] = (git_dir,)
        #: Whether it goes back to the pool on release (worktrees) or is removed.
        self.pooled = pooled
        #: Wall clock when its last hand-out began (its agent wrote nothing before), 0: unknown.
        self.handed_out_s = 0.0
        #: Seconds it took to get ready, for metrics.
        self.ready_s = 0.0
        #: The commit this (pooled) sandbox is known to hold exactly, "" when unknown.
        self.clean_at = ""
        #: The base the agent's ``.git`` was rebuilt for (untouched since), "" when unknown.
        self.agent_git_at = ""
        #: What the last diff's status saw (code, path), None when it could not tell;
        #: release resets only these instead of checking out and cleaning the whole tree.
        self._seen: list[tuple[str, str]] | None = None
        #: Base blobs fetched in one batch by diff(), for base_bytes().
        self._base_blobs: dict[str, bytes | None] = {}

    def __repr__(self) -> str:
        return f"Sandbox({self.path}, task={self.task_id!r}, base={self.base[:10]!r})"

    def git_args(self) -> list[str]:
        """Leading git arguments that address this sandbox (always explicit: no ``.git``
        entry of the work tree is ever looked at)."""
        return ["--git-dir", str(self.git_dir), "--work-tree", str(self.path)]

    def git(
        self, args: list[str], *, env: dict[str, str] | None = None, stdin: bytes | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """``git ARGS`` on this sandbox: its own git directory, isolated config."""
        return git([*self.git_args(), *args], env=env, stdin=stdin, check=check)

    def _git_out(self, args: list[str], env: dict[str, str] | None = None) -> str:
        return git_out([*self.git_args(), *args], env=env)

    def give_agent_git(self) -> None:
        """(Re)build the agent's ``.git`` at ``base`` (it also borrows this sandbox's own
        objects, where a base laid over the snapshot, such as an editor overlay, lives)."""
        give_agent_git_dir(self.path, self.base, self.source, self.git_dir / "index",
                           extra_alternates=(self.git_dir / "objects",))
        self.agent_git_at = self.base

    def harden(self) -> None:
        """Undo whatever an unconfined agent did to yui's git directory (config, links)."""
        harden(self.git_dir, self.source)

    def head(self) -> str:
        """The commit yui's git directory has checked out (the base, unless tampered with)."""
        value = head_of(self.git_dir)
        if _OBJECT_ID.fullmatch(value):
            return value
        return self._git_out(["rev-parse", "--verify", "HEAD"])

    # ----------------------------------------------------------------- content

    def read(self, rel: str) -> bytes | None:
        """What the sandbox holds at ``rel`` now (a symlink's target text), None if nothing."""
        return safe_fs.read_entry(self.path, rel)

    def base_bytes(self, rel: str) -> bytes | None:
        """What the sandbox held at ``rel`` when it was handed out (None: did not exist)."""
        if rel in self._base_blobs:
            return self._base_blobs[rel]
        done = self.git(["cat-file", "blob", f"{self.base}:{rel}"], check=False)
        return done.stdout if done.returncode == 0 else None

    # ----------------------------------------------------------------- diff

    def _scratch_index(self, folder: Path) -> dict[str, str]:
        """Env for git using a copy of the sandbox's index (its stat data makes `add` fast)."""
        index = folder / "index"
        own_index = self.git_dir / "index"
        if own_index.exists():
            # copy2 keeps the index file's mtime: git tells a same-size edit made in the
            # second the index was written ("racily clean") by comparing entries with it.
            shutil.copy2(own_index, index)
        return {"GIT_INDEX_FILE": str(index)}

    def _status(self) -> list[tuple[str, str]] | None:
        """Status entries of the worktree against ``base``; None when HEAD moved off it
        (the agent committed), as status then compares against the wrong commit."""
        if not self.base or self.head() != self.base:
            return None
        return status_entries(self.git_args(), ignored=True)

    def _unseen(self, listed: set[str]) -> dict[str, tuple[int, str]]:
        """Same-size edits git's whole-second stat check calls clean (see
        :mod:`yui_lsp.workspace.statcache`): path -> (mode, new blob id)."""
        return unseen_changes(self.git_args(), self.git_dir / "index", self.path, listed,
                              self.source.object_format, self.handed_out_s)

    def _fetch_base_blobs(self, fields: list[str]) -> None:
        """Every base blob the change set and its merge will ask for, in one git process."""
        wanted = sorted({f for f in fields if not f.startswith(":") and "\n" not in f})
        if not wanted:
            return
        spec = "".join(f"{self.base}:{rel}\n" for rel in wanted).encode("utf-8", "surrogateescape")
        out = self.git(["cat-file", "--batch"], stdin=spec).stdout
        pos = 0
        for rel in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split(b" ")
            pos = end + 1
            if header[-1] == b"missing":
                self._base_blobs[rel] = None
                continue
            size = int(header[-1])
            self._base_blobs[rel] = out[pos:pos + size] if header[1] == b"blob" else None
            pos += size + 1

    # ----------------------------------------------------------------- reset

    def reset(self) -> None:
        """Make the work tree, index and HEAD exactly ``base`` again, for the next task.

        When diff() saw the tree, only what it listed is undone (files the task touched,
        created or left ignored); otherwise the whole tree is checked out and cleaned.
        Then the tree is verified clean; GitError if it cannot be made so.
        """
        seen, self._seen = self._seen, None
        self._base_blobs = {}
        self.clean_at = ""
        self.harden()
        if seen is None or self.head() != self.base or any(
                code not in _UNDOABLE for code, _ in seen):
            self._checkout_clean()
        else:
            self._undo(seen)
        if not self.is_clean():
            # Something changed the tree after the diff: start over from scratch.
            self._checkout_clean()
            if not self.is_clean():
                raise GitError(f"sandbox {self.path} cannot be reset to its base")
        self.clean_at = self.base

    def _checkout_clean(self) -> None:
        # checkout skips files whose stat matches the index: those git cannot see go first.
        for rel in self._unseen(set()):
            safe_fs.remove_entry(self.path, rel)
        self.git(["checkout", "-q", "--detach", "--force", self.base])
        # -ff: nested repositories an agent made go too.
        self.git(["clean", "-q", "-ffdx"])

    def is_clean(self) -> bool:
        """True when the work tree holds exactly ``base`` (nothing new, not even ignored)."""
        out = self.git(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                        "--ignored=matching"]).stdout
        return not out and self.head() == self.base and not self._unseen(set())

    def _undo(self, seen: list[tuple[str, str]]) -> None:
        """Remove what the task added, then restore tracked files from the (untouched) index."""
        restore: list[str] = []
        for code, rel in seen:
            # checkout-index skips a file whose stat matches its entry, as a same-size edit
            # git could not see does: every file it restores is removed first.
            safe_fs.remove_entry(self.path, rel.rstrip("/"))
            if code[0] == " ":
                restore.append(rel)
        if restore:
            spec = b"\0".join(os.fsencode(p) for p in restore)
            self.git(["checkout-index", "-q", "--force", "-z", "--stdin"], stdin=spec)

    def diff(self) -> ChangeSet:
        """Everything changed since ``base``: edits, creations, deletions, exact renames,
        binary files and mode changes (files of a repository the agent nested inside are
        taken as plain files). Raises UnsafeChangeError for what cannot land safely: a
        symlink leaving the sandbox, a file name that is not UTF-8."""
        self.harden()
        self._seen = self._status() if self.pooled else None
        self._base_blobs = {}
        unseen = self._unseen({rel for _, rel in self._seen or []})
        if self._seen is not None:
            self._seen += [(" M", rel) for rel in unseen]
        if self._seen is not None and all(code == "!!" for code, _ in self._seen):
            # Most tasks of a batch touch nothing (or only ignored files): one status says so.
            return ChangeSet(task_id=self.task_id, base=self.base, changes=[])
        with tempfile.TemporaryDirectory(prefix="yui-index-") as tmp:
            env = self._scratch_index(Path(tmp))
            stage(self.git_dir, self.path, Path(env["GIT_INDEX_FILE"]), Path(tmp), self._seen)
            if unseen:  # `git add` trusts the same stat: record their new blobs directly
                info = "".join(f"{mode:o} {oid}\t{rel}\n" for rel, (mode, oid) in unseen.items())
                self.git(["update-index", "--index-info"], env=env,
                         stdin=info.encode("utf-8", "surrogateescape"))
            raw = self.git(["diff-index", "--cached", "-r", "-z", "--raw", "--no-ext-diff",
                            "--no-textconv", "--find-renames=100%", self.base], env=env).stdout
        return self._change_set(split_z(raw))

    def _change_set(self, fields: list[str]) -> ChangeSet:
        unsafe = [f for f in fields if not f.startswith(":") and not _utf8(f)]
        if unsafe:
            names = ", ".join(os.fsencode(f).decode("utf-8", "backslashreplace")
                              for f in unsafe)
            raise UnsafeChangeError(
                f"file names that are not UTF-8 cannot land: {names} (rename them)"
            )
        self._fetch_base_blobs(fields)
        changes: list[FileChange] = []
        i = 0
        while i < len(fields):
            meta = fields[i].lstrip(":").split()
            old_mode, new_mode, status = int(meta[0], 8), int(meta[1], 8), meta[4][0]
            kind = _KINDS.get(status)
            if status in ("R", "C"):
                old_path, path = fields[i + 1], fields[i + 2]
                i += 3
            else:
                old_path, path = None, fields[i + 1]
                i += 2
            if kind is None:
                continue
            changes.append(self._change(kind, path, old_path, old_mode, new_mode))
        return ChangeSet(task_id=self.task_id, base=self.base, changes=changes)

    def _change(
        self, kind: ChangeKind, path: str, old_path: str | None, old_mode: int, new_mode: int
    ) -> FileChange:
        if new_mode == _SYMLINK:
            self._refuse_escaping_link(path)
        content = self.base_bytes(path) if kind is ChangeKind.DELETE else self.read(path)
        if kind is ChangeKind.CREATE:
            mode = None if new_mode == _REGULAR else new_mode
        else:
            mode = None if new_mode in (old_mode, 0) else new_mode
        return FileChange(
            path=path, kind=kind, old_path=old_path,
            binary=content is not None and not is_text(content), mode=mode,
        )

    def _refuse_escaping_link(self, rel: str) -> None:
        """A symlink lands only as a relative link that stays inside the tree by its text
        alone: an absolute one would point into the sandbox (or anywhere) from the user's
        tree."""
        target = safe_fs.read_link(self.path, rel)
        if not safe_fs.link_stays_inside(rel, target):
            raise PathOutsideWorkspaceError(
                f"{rel} -> {target}", "the sandbox (the agent made a symlink out)"
            )
        # Nor one into .git/ or .yui/: through it, later writes would reach them.
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        refuse_protected([joined], f"the link {rel} -> {target} was not applied")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def copy_entry(src: Path, dst: Path, real_root: str) -> None:
    """Copy one file or symlink (a symlink only if it stays inside ``real_root``)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    elif dst.is_dir():
        shutil.rmtree(dst)
    if src.is_symlink():
        target = os.path.realpath(src)
        if target == real_root or target.startswith(real_root + os.sep):
            os.symlink(os.readlink(src), dst)
        return
    shutil.copyfile(src, dst)
    os.chmod(dst, stat.S_IMODE(src.stat().st_mode))
