"""A pool of sandboxes outside the repository, reset between tasks.

Sandboxes live in the user cache dir (``<cache>/sandboxes/<repo-hash>/``) so editors,
watchers and indexers never see them. Each folder is named after the owning process
(``<pid>-<start-time>-<n>``) so any process can tell which ones belong to dead processes and
remove them. A git sandbox goes back to the pool after its task (``git checkout --force`` +
``git clean -fdx``), which makes the next one ready far faster than ``git worktree add``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import time
from pathlib import Path

import anyio
import filelock
import platformdirs
import psutil

from yui_lsp.workspace.gitcmd import GitError, git, git_out, is_git_root, split_z
from yui_lsp.workspace.paths import expand_claims
from yui_lsp.workspace.sandbox import Sandbox, copy_entry
from yui_lsp.workspace.statedir import STATE_DIR_NAME, state_dir

_BASE_MESSAGE = "yui: sandbox base (HEAD plus the workspace's uncommitted changes)"

# `git worktree add` and `git worktree prune` both rewrite .git/worktrees/: run concurrently
# (from our worker threads, or another yui process) they read each other's half-made entries.
_WORKTREE_THREAD_LOCK = threading.Lock()


def _worktree_admin_lock(root: Path) -> filelock.FileLock:
    return filelock.FileLock(str(state_dir(root) / "worktrees.lock"))


def _process_tag(pid: int) -> str:
    try:
        started = int(psutil.Process(pid).create_time())
    except psutil.Error:
        return ""
    return f"{pid}-{started}"


def _kill_processes_inside(folders: list[Path]) -> None:
    """SIGKILL every process whose working directory is inside one of ``folders``."""
    if not folders:
        return
    prefixes = [os.path.realpath(f) for f in folders]
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd") or ""
        if any(cwd == p or cwd.startswith(p + os.sep) for p in prefixes):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _owner_alive(name: str) -> bool:
    """Whether the sandbox folder ``name`` belongs to a process that still runs."""
    parts = name.split("-")
    if len(parts) < 3 or not parts[0].isdigit():
        return True  # not one of ours: leave it alone
    return _process_tag(int(parts[0])) == f"{parts[0]}-{parts[1]}"


def _skip_state(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in (".git", STATE_DIR_NAME)}


class SandboxPool:
    """Hands out ready sandboxes for tasks of one workspace."""

    def __init__(
        self, root: Path, cache_dir: Path | None, include: list[str], pool_size: int
    ) -> None:
        self.root = Path(root)
        self.include = list(include)
        self.pool_size = pool_size
        self.is_git = is_git_root(self.root)
        real = os.path.realpath(self.root)
        repo_hash = hashlib.sha256(real.encode()).hexdigest()[:16]
        cache = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("yui-lsp"))
        self.folder = cache / "sandboxes" / repo_hash
        self._real_root = real
        self._tag = _process_tag(os.getpid())
        self._counter = 0
        self._idle: list[Sandbox] = []
        self._busy: dict[str, Sandbox] = {}

    # ----------------------------------------------------------------- public

    async def acquire(self, task_id: str) -> Sandbox:
        """A sandbox holding the workspace as the user sees it now, for ``task_id``."""
        sandbox = self._idle.pop() if self._idle else self._new_sandbox()
        self._busy[str(sandbox.path)] = sandbox
        try:
            await anyio.to_thread.run_sync(self._prepare, sandbox, task_id)
        except BaseException:
            self._busy.pop(str(sandbox.path), None)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._remove, sandbox)
            raise
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        """Reset ``sandbox`` and keep it for the next task, or remove it when the pool is full."""
        self._busy.pop(str(sandbox.path), None)
        with anyio.CancelScope(shield=True):
            keep = sandbox.pooled and len(self._idle) < self.pool_size
            if keep:
                try:
                    await anyio.to_thread.run_sync(self._reset, sandbox)
                except (OSError, GitError):
                    keep = False  # a sandbox that cannot be reset is not reused
            if keep:
                sandbox.task_id = ""
                self._idle.append(sandbox)
            else:
                await anyio.to_thread.run_sync(self._remove, sandbox)

    async def close(self) -> None:
        """Remove every sandbox of this pool (idle and busy)."""
        with anyio.CancelScope(shield=True):
            doomed = [*self._idle, *self._busy.values()]
            self._idle.clear()
            self._busy.clear()
            for sandbox in doomed:
                await anyio.to_thread.run_sync(self._remove, sandbox)
            if self.is_git:
                await anyio.to_thread.run_sync(self._prune)

    def cleanup_orphans(self) -> list[Path]:
        """Remove sandboxes left by processes that are gone; returns what was removed."""
        removed = []
        if self.folder.is_dir():
            orphans = [e for e in sorted(self.folder.iterdir())
                       if not _owner_alive(e.name.split(".")[0])]
            # An agent outlives a coordinator killed with SIGKILL (it runs in its own process
            # group); it must not keep working in a folder that is about to vanish.
            _kill_processes_inside(orphans)
            for entry in orphans:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        if self.is_git:
            self._prune()
        return removed

    # ----------------------------------------------------------------- internals

    def _new_sandbox(self) -> Sandbox:
        self._counter += 1
        path = self.folder / f"{self._tag}-{self._counter}"
        git_dir = None if self.is_git else path.with_name(path.name + ".gitdir")
        return Sandbox(path, git_dir, pooled=self.is_git)

    def _prepare(self, sandbox: Sandbox, task_id: str) -> None:
        started = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.is_git:
            head = git_out(["rev-parse", "HEAD"], cwd=self.root)
            if (sandbox.path / ".git").exists():
                git([*sandbox.git_args(), "checkout", "-q", "--detach", "--force", head])
            else:
                with _WORKTREE_THREAD_LOCK, _worktree_admin_lock(self.root):
                    git(["worktree", "add", "-q", "--detach", str(sandbox.path), head],
                        cwd=self.root)
            changed = self._overlay_changes(sandbox)
            sandbox.base = self._commit_base(sandbox, head, changed)
        else:
            self._copy_folder(sandbox)
        for rel in expand_claims(self.root, self.include):
            src = self.root / rel
            if src.exists() or src.is_symlink():
                copy_entry(src, sandbox.path / rel, self._real_root)
        sandbox.task_id = task_id
        sandbox.ready_s = time.perf_counter() - started

    def _overlay_changes(self, sandbox: Sandbox) -> list[str]:
        """Copy the user's uncommitted changes in; returns the paths they touch."""
        status = git(["--no-optional-locks", "status", "--porcelain=v1", "-z",
                      "--untracked-files=all", "--no-renames"], cwd=self.root).stdout
        changed = []
        for entry in split_z(status):
            rel = entry[3:]
            if rel.startswith(STATE_DIR_NAME + "/") or rel.endswith("/"):
                continue  # yui's own state; nested repositories
            src, dst = self.root / rel, sandbox.path / rel
            if src.is_symlink() or src.is_file():
                copy_entry(src, dst, self._real_root)
            elif not src.exists() and (dst.exists() or dst.is_symlink()):
                dst.unlink()
            changed.append(rel)
        return changed

    def _commit_base(self, sandbox: Sandbox, head: str, changed: list[str]) -> str:
        if not changed:
            return head
        args = sandbox.git_args()
        spec = b"\0".join(os.fsencode(p) for p in changed)
        git([*args, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"], stdin=spec)
        tree = git_out([*args, "write-tree"])
        base = git_out([*args, "commit-tree", tree, "-p", head, "-m", _BASE_MESSAGE])
        # The agent's `git diff` / `git status` then show only its own work.
        git([*args, "update-ref", "--no-deref", "HEAD", base])
        return base

    def _copy_folder(self, sandbox: Sandbox) -> None:
        assert sandbox.git_dir is not None
        for stale in (sandbox.path, sandbox.git_dir):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.copytree(self.root, sandbox.path, symlinks=True, ignore=_skip_state)
        env = {"GIT_DIR": str(sandbox.git_dir), "GIT_WORK_TREE": str(sandbox.path)}
        git(["init", "-q"], env=env)
        git([*sandbox.git_args(), "add", "-A"])
        tree = git_out([*sandbox.git_args(), "write-tree"])
        sandbox.base = git_out([*sandbox.git_args(), "commit-tree", tree, "-m", _BASE_MESSAGE])
        git([*sandbox.git_args(), "update-ref", "HEAD", sandbox.base])

    def _reset(self, sandbox: Sandbox) -> None:
        args = sandbox.git_args()
        git([*args, "checkout", "-q", "--detach", "--force", sandbox.base])
        git([*args, "clean", "-q", "-fdx"])

    def _remove(self, sandbox: Sandbox) -> None:
        shutil.rmtree(sandbox.path, ignore_errors=True)
        if sandbox.git_dir is not None:
            shutil.rmtree(sandbox.git_dir, ignore_errors=True)

    def _prune(self) -> None:
        with _WORKTREE_THREAD_LOCK, _worktree_admin_lock(self.root):
            git(["worktree", "prune"], cwd=self.root, check=False)
