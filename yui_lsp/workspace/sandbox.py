"""One task's sandbox: a private tree where its agent works, and what it changed there.

Every sandbox is a git work tree whose ``base`` commit records exactly what it held when it
was handed out (HEAD plus the user's uncommitted changes). For a git repository it is a
``git worktree`` of that repository; for a plain folder it is a copy with a private git
folder beside it (so the agent never sees it). Diffing is then git's job: exact, fast, and
rename detection by identical content.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.protocol import ChangeKind, ChangeSet, FileChange
from yui_lsp.workspace.gitcmd import git, git_dir_of, git_out, read_head, split_z
from yui_lsp.workspace.merge import is_text
from yui_lsp.workspace.paths import resolve_inside

_REGULAR = 0o100644
_SYMLINK = 0o120000
_KINDS = {"M": ChangeKind.MODIFY, "T": ChangeKind.MODIFY, "A": ChangeKind.CREATE,
          "D": ChangeKind.DELETE, "R": ChangeKind.RENAME}
#: Status codes release can undo by itself: work-tree-only edits of tracked files (restored
#: from the index, which still equals base) and new or ignored files (removed).
_UNDOABLE = frozenset({" M", " D", " T", "??", "!!"})


class Sandbox:
    """A task's private work tree."""

    def __init__(self, path: Path, git_dir: Path | None, pooled: bool) -> None:
        #: The work tree: the agent's cwd.
        self.path = path
        self.task_id = ""
        #: Commit recording what the sandbox held when handed out.
        self.base = ""
        #: Private git folder of a plain-folder sandbox (None for a worktree).
        self.git_dir = git_dir
        #: Whether it goes back to the pool on release (worktrees) or is removed.
        self.pooled = pooled
        #: Seconds it took to get ready, for metrics.
        self.ready_s = 0.0
        #: The commit this (pooled) sandbox is known to hold exactly, "" when unknown.
        self.clean_at = ""
        #: What the last diff's status saw (code, path), None when it could not tell;
        #: release resets only these instead of checking out and cleaning the whole tree.
        self._seen: list[tuple[str, str]] | None = None
        #: Base blobs fetched in one batch by diff(), for base_bytes().
        self._base_blobs: dict[str, bytes | None] = {}

    def __repr__(self) -> str:
        return f"Sandbox({self.path}, task={self.task_id!r}, base={self.base[:10]!r})"

    def git_args(self) -> list[str]:
        """Leading git arguments that address this sandbox."""
        if self.git_dir is None:
            return ["-C", str(self.path)]
        return ["--git-dir", str(self.git_dir), "--work-tree", str(self.path)]

    def _git_dir(self) -> Path:
        if self.git_dir is not None:
            return self.git_dir
        found = git_dir_of(self.path)
        if found is not None:
            return found
        return Path(git_out([*self.git_args(), "rev-parse", "--absolute-git-dir"]))

    def head(self) -> str:
        """The commit the sandbox's HEAD points at now (an agent may have committed)."""
        if self.git_dir is not None:
            return git_out([*self.git_args(), "rev-parse", "--verify", "HEAD"])
        return read_head(self.path)

    # ----------------------------------------------------------------- content

    def read(self, rel: str) -> bytes | None:
        """What the sandbox holds at ``rel`` now (a symlink's target text), None if nothing."""
        path = resolve_inside(self.path, rel)
        if path.is_symlink():
            return os.fsencode(os.readlink(path))
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def base_bytes(self, rel: str) -> bytes | None:
        """What the sandbox held at ``rel`` when it was handed out (None: did not exist)."""
        if rel in self._base_blobs:
            return self._base_blobs[rel]
        done = git([*self.git_args(), "cat-file", "blob", f"{self.base}:{rel}"], check=False)
        return done.stdout if done.returncode == 0 else None

    # ----------------------------------------------------------------- diff

    def snapshot_tree(self) -> str:
        """Tree id of the sandbox as it is now (ignored files excluded), without touching
        the index the agent may be using."""
        with tempfile.TemporaryDirectory(prefix="yui-index-") as tmp:
            env = self._scratch_index(Path(tmp))
            git([*self.git_args(), "add", "-A"], env=env)
            return git_out([*self.git_args(), "write-tree"], env=env)

    def _scratch_index(self, folder: Path) -> dict[str, str]:
        """Env for git using a copy of the sandbox's index (its stat data makes `add` fast)."""
        index = folder / "index"
        own_index = self._git_dir() / "index"
        if own_index.exists():
            shutil.copyfile(own_index, index)
        return {"GIT_INDEX_FILE": str(index)}

    def _status(self) -> list[tuple[str, str]] | None:
        """Status entries of the worktree against ``base``; None when HEAD moved off it
        (the agent committed), as status then compares against the wrong commit."""
        if not self.base or self.head() != self.base:
            return None
        out = git([*self.git_args(), "status", "--porcelain=v1", "-z", "--no-renames",
                   "--untracked-files=all", "--ignored=matching"]).stdout
        return [(entry[:2], entry[3:]) for entry in split_z(out)]

    def _fetch_base_blobs(self, fields: list[str]) -> None:
        """Every base blob the change set and its merge will ask for, in one git process."""
        wanted = sorted({f for f in fields if not f.startswith(":") and "\n" not in f})
        if not wanted:
            return
        spec = "".join(f"{self.base}:{rel}\n" for rel in wanted).encode("utf-8", "surrogateescape")
        out = git([*self.git_args(), "cat-file", "--batch"], stdin=spec).stdout
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
        """
        seen, self._seen = self._seen, None
        self._base_blobs = {}
        self.clean_at = ""
        if seen is None or self.head() != self.base or any(
                code not in _UNDOABLE for code, _ in seen):
            git([*self.git_args(), "checkout", "-q", "--detach", "--force", self.base])
            git([*self.git_args(), "clean", "-q", "-fdx"])
        else:
            self._undo(seen)
        self.clean_at = self.base

    def _undo(self, seen: list[tuple[str, str]]) -> None:
        """Remove what the task added, then restore tracked files from the (untouched) index."""
        restore: list[str] = []
        for code, rel in seen:
            if code[0] == " ":
                restore.append(rel)
                continue
            # Paths from git status never pass through a symlink; a symlink is unlinked.
            target = self.path / rel.rstrip("/")
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            # Folders that held only what the task made go too, as `git clean -d` would.
            for parent in target.parents:
                if parent == self.path:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break
        if restore:
            spec = b"\0".join(os.fsencode(p) for p in restore)
            git([*self.git_args(), "checkout-index", "-q", "--force", "-z", "--stdin"],
                stdin=spec)

    def diff(self) -> ChangeSet:
        """Everything changed since ``base``: edits, creations, deletions, exact renames,
        binary files and mode changes. Refuses a symlink that points out of the sandbox."""
        self._seen = self._status() if self.git_dir is None else None
        self._base_blobs = {}
        if self._seen is not None and all(code == "!!" for code, _ in self._seen):
            # Most tasks of a batch touch nothing (or only ignored files): one status says so.
            return ChangeSet(task_id=self.task_id, base=self.base, changes=[])
        with tempfile.TemporaryDirectory(prefix="yui-index-") as tmp:
            env = self._scratch_index(Path(tmp))
            if self._seen is None:
                git([*self.git_args(), "add", "-A"], env=env)
            else:  # status named every path that differs from base: hash only those
                spec = b"\0".join(os.fsencode(rel) for code, rel in self._seen if code != "!!")
                git([*self.git_args(), "add", "-A", "--pathspec-from-file=-",
                     "--pathspec-file-nul"], env={**env, "GIT_LITERAL_PATHSPECS": "1"},
                    stdin=spec)
            raw = git([*self.git_args(), "diff-index", "--cached", "-r", "-z", "--raw",
                       "--find-renames=100%", self.base], env=env).stdout
        fields = split_z(raw)
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
        link = self.path / rel
        real_root = os.path.realpath(self.path)
        target = os.path.realpath(link)
        if not (target == real_root or target.startswith(real_root + os.sep)):
            raise PathOutsideWorkspaceError(
                f"{rel} -> {os.readlink(link)}", "the sandbox (the agent made a symlink out)"
            )


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
