"""A pool of sandboxes outside the repository, reset between tasks.

Sandboxes live in the user cache dir (``<cache>/sandboxes/<repo-hash>/``) so editors,
watchers and indexers never see them. Each folder is named after the owning process
(``<pid>-<start-time>-<n>``) so any process can tell which ones belong to dead processes and
remove them; yui's git directory for it sits beside it (``<name>.gitdir``, see
:mod:`yui_lsp.workspace.gitdir`). A git sandbox goes back to the pool after its task, reset
to its base (only what the task touched, when its diff saw that) and verified clean, which
makes the next one ready far faster than a fresh checkout.

A hand-out (:meth:`SandboxPool._prepare`) is: the base commit, a checkout of it when the
sandbox holds another, the agent's own ``.git`` rebuilt, then the include-list files.
Anything else a hand-out must lay over the base (an editor's unsaved buffers) belongs in
the base commit itself (:meth:`SandboxPool._workspace_base`), so diffs stay against it.

Hand-out is CPU-bound when many tasks start at once, so every git process counts. The
user's uncommitted changes are recorded once per snapshot as a base commit (HEAD plus
those changes), built beside the user's index; each sandbox then just checks that commit
out, or does nothing when it already holds it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import anyio
import platformdirs
import psutil

from yui_lsp.errors import ConfigError
from yui_lsp.workspace.gitcmd import (
    GitError,
    git,
    git_out,
    is_git_root,
    read_head,
    split_z,
    user_excludes,
)
from yui_lsp.workspace.gitdir import (
    ObjectSource,
    head_of,
    init_git_dir,
    object_source_of,
)
from yui_lsp.workspace.object_repair import set_aside_damaged
from yui_lsp.workspace.paths import expand_claims
from yui_lsp.workspace.sandbox import Sandbox, copy_entry
from yui_lsp.workspace.statedir import STATE_DIR_NAME

_BASE_MESSAGE = "yui: sandbox base (HEAD plus the workspace's uncommitted changes)"

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


def _inside(real_root: str, real_path: str) -> bool:
    return real_path == real_root or real_path.startswith(real_root + os.sep)


def _nul_list(paths: list[str]) -> bytes:
    return b"\0".join(os.fsencode(p) for p in paths)


_SANDBOX_NUMBERS = itertools.count(1)
#: Hand-outs retried after setting damaged objects aside (each pass sets aside all it finds).
_REPAIRS = 2


def _owner_alive(name: str) -> bool:
    """Whether the sandbox folder ``name`` belongs to a process that still runs."""
    parts = name.split("-")
    if len(parts) < 3 or not parts[0].isdigit():
        return True  # not one of ours: leave it alone
    return _process_tag(int(parts[0])) == f"{parts[0]}-{parts[1]}"


def _skip_state(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in (".git", STATE_DIR_NAME)}


#: Temp files of an apply landing meanwhile (journal.temp_path): gone in a moment, never
#: part of what the user sees.
_APPLY_TEMP = re.compile(r"(^|/)\.[^/]*\.yui-[0-9a-f]+\.tmp$")

#: A file whose mtime is this close to a snapshot could have been rewritten within the same
#: clock tick, unseen by its stat; such a snapshot's base is not reused (git's "racy" rule).
_RACY_NS = 100_000_000

StatKey = tuple[int, int, int, int, int] | None


def _stat_key(path: Path) -> StatKey:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class _WorkspaceSnapshot:
    """The user's workspace as one base commit, and how to tell it is still current."""

    started: float  # time.monotonic() when the snapshot began
    head: str
    status: bytes
    stats: dict[str, StatKey] = field(default_factory=dict)
    taken_ns: int = 0  # wall clock when the stats were taken
    base: str = ""

    def still_current(self, head: str, status: bytes, stats: dict[str, StatKey]) -> bool:
        """Same HEAD, same status, and every changed file untouched since (not racily)."""
        if (head, status, stats) != (self.head, self.status, self.stats):
            return False
        return all(key is None or key[2] < self.taken_ns - _RACY_NS for key in stats.values())


class SandboxPool:
    """Hands out ready sandboxes for tasks of one workspace."""

    def __init__(
        self, root: Path, cache_dir: Path | None, include: list[str], pool_size: int
    ) -> None:
        self.root = Path(root)
        self.include = list(include)
        self.pool_size = pool_size
        #: What the user's git ignores globally, passed explicitly (global config is not read).
        self._excludes = user_excludes()
        real = os.path.realpath(self.root)
        repo_hash = hashlib.sha256(real.encode()).hexdigest()[:16]
        cache = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("yui-lsp"))
        self.folder = cache / "sandboxes" / repo_hash
        #: yui's own object store: the snapshots of uncommitted work go here, never into the
        #: user's ``.git`` (git does not fsync loose objects by default, and a power cut
        #: must not leave an empty object file in the user's repository).
        self.objects = self.folder / "objects"
        self._real_root = real
        self._tag = _process_tag(os.getpid())
        self._idle: list[Sandbox] = []
        self._busy: dict[str, Sandbox] = {}
        # Hand-outs run in worker threads; one snapshot at a time, shared by those waiting.
        self._snapshot_lock = threading.Lock()
        self._snapshot: _WorkspaceSnapshot | None = None

    # Asked of git on first need (a few git processes): a coordinator that never hands out a
    # sandbox (the built-in refactor) does not wait for them.

    @cached_property
    def is_git(self) -> bool:
        """Whether the workspace is a git work tree's top with a commit (sandboxes are then
        pooled git checkouts; else plain copies)."""
        return is_git_root(self.root)

    @cached_property
    def source(self) -> ObjectSource:
        """Where sandbox git directories borrow objects from (read-only)."""
        if not self.is_git:
            return ObjectSource()
        found = object_source_of(self.root)
        return replace(found, alternates=(*found.alternates, self.objects))

    # ----------------------------------------------------------------- public

    async def acquire(self, task_id: str, base: str | None = None) -> Sandbox:
        """A sandbox holding the workspace as the user sees it now, for ``task_id``.

        With ``base`` (a commit of this repository), it holds exactly that commit instead and
        nothing is copied in: a cluster node's pool gets the workspace that way.
        """
        requested = time.monotonic()
        repairs = 0
        while True:
            sandbox = (self._idle.pop() if self._idle
                       else await anyio.to_thread.run_sync(self._new_sandbox))
            self._busy[str(sandbox.path)] = sandbox
            try:
                await anyio.to_thread.run_sync(self._prepare, sandbox, task_id, requested, base)
                return sandbox
            except BaseException as exc:
                self._busy.pop(str(sandbox.path), None)
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._remove, sandbox)
                    repairs += 1
                    if repairs > _REPAIRS or not isinstance(exc, GitError) or \
                            not await anyio.to_thread.run_sync(self._repair):
                        raise
                    # Idle checkouts may stand on such objects too: the next ones are new.
                    doomed, self._idle = self._idle, []
                    for idle in doomed:
                        await anyio.to_thread.run_sync(self._remove, idle)

    def _repair(self) -> bool:
        """Set damaged objects of the pool's store aside; whether there were any."""
        with self._snapshot_lock:
            if not set_aside_damaged(self.objects):
                return False
            self._snapshot = None  # its base commit may have been among them
        return True

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

    def check_folder(self) -> None:
        """ConfigError unless the sandboxes' folder can be created and written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not os.access(self.folder, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "Permission denied")
        except OSError as exc:
            raise ConfigError(
                f"cannot keep sandboxes in {self.folder.parent.parent} ({exc.strerror}); set "
                "sandbox_dir to a folder you can write, or remove it to use the user cache"
            ) from None

    def cleanup_orphans(self) -> list[Path]:
        """Remove sandboxes left by processes that are gone; returns what was removed."""
        self.check_folder()
        removed = []
        if self.folder.is_dir():
            orphans = [e for e in sorted(self.folder.iterdir())
                       if not _owner_alive(e.name.split(".")[0])]
            # An agent outlives a coordinator killed with SIGKILL (it runs in its own process
            # group); it must not keep working in a folder that is about to vanish.
            _kill_processes_inside(orphans)
            for entry in orphans:
                shutil.rmtree(entry, ignore_errors=True)
                if not entry.name.endswith(".gitdir"):
                    removed.append(entry)
        if removed and self.is_git:
            # Sandboxes of older versions were worktrees registered in the user's .git.
            git(["worktree", "prune"], cwd=self.root, check=False)
        return removed

    # ----------------------------------------------------------------- internals

    def _new_sandbox(self) -> Sandbox:
        # Numbered per process, not per pool: two pools of one process (two coordinators on
        # one repository) must never hand out the same folder.
        path = self.folder / f"{self._tag}-{next(_SANDBOX_NUMBERS)}"
        git_dir = path.with_name(path.name + ".gitdir")
        sandbox = Sandbox(path, git_dir, pooled=self.is_git, source=self.source)
        sandbox.confine_readonly = (self.folder,)
        return sandbox

    def snapshot_base(self) -> str:
        """The commit recording the workspace as the user sees it now (git workspaces only)."""
        return self._workspace_base(time.monotonic())

    def _prepare(
        self, sandbox: Sandbox, task_id: str, requested: float, given: str | None = None
    ) -> None:
        started = time.perf_counter()
        sandbox.handed_out_s = time.time()
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.is_git:
            # Every sandbox git directory lists it as an alternate: it must exist first.
            self.objects.mkdir(exist_ok=True)
            base = given or self._workspace_base(requested)
            if not head_of(sandbox.git_dir):
                init_git_dir(sandbox.git_dir, self.source)
                sandbox.path.mkdir(exist_ok=True)
                sandbox.git(["checkout", "-q", "--detach", "--force", base])
            elif sandbox.clean_at != base or sandbox.head() != base:
                # A pooled sandbox was reset to its last base (and verified clean) on
                # release; switching bases rewrites only the files that differ.
                sandbox.harden()
                sandbox.git(["checkout", "-q", "--detach", "--force", base])
            sandbox.base = sandbox.clean_at = base
            if sandbox.agent_git_at != base:
                sandbox.give_agent_git()
            sandbox.agent_git_at = ""  # the agent may change it from now on
        else:
            self._copy_folder(sandbox)
        for rel in expand_claims(self.root, self.include) if given is None else []:
            src = self.root / rel
            if src.exists() or src.is_symlink():
                copy_entry(src, sandbox.path / rel, self._real_root)
        sandbox.task_id = task_id
        sandbox.ready_s = time.perf_counter() - started

    def _workspace_base(self, requested: float) -> str:
        """The commit recording the workspace as the user sees it, no older than ``requested``.

        Hand-outs that queued while another one took its snapshot use that snapshot: it
        began after they asked, so it is at least as fresh as one of their own (a task that
        depends on another is asked for only after that one's result was applied). A new
        snapshot whose HEAD, status and changed files' stat all equal the last one reuses
        its base commit instead of hashing the changes again.
        """
        with self._snapshot_lock:
            last = self._snapshot
            if last is not None and last.started >= requested:
                return last.base
            started = time.monotonic()
            head = read_head(self.root)
            status = git([*self._excludes, "status", "--porcelain=v1", "-z",
                          "--untracked-files=all", "--no-renames"], cwd=self.root).stdout
            changed = [entry[3:] for entry in split_z(status)
                       # yui's own state; nested repositories
                       if not entry[3:].startswith(STATE_DIR_NAME + "/")
                       and not entry.endswith("/") and not _APPLY_TEMP.search(entry[3:])]
            taken_ns = time.time_ns()
            stats = {rel: _stat_key(self.root / rel) for rel in changed}
            if last is not None and last.still_current(head, status, stats):
                base = last.base
            else:
                base = self._commit_base(head, changed)
            self._snapshot = _WorkspaceSnapshot(started, head, status, stats, taken_ns, base)
            return base

    def _commit_base(self, head: str, changed: list[str]) -> str:
        """HEAD plus the changes at ``changed``, built in a scratch index (never the user's)."""
        if not changed:
            return head
        # A symlink leading out of the workspace is not handed to the agent.
        refused = [rel for rel in changed if (self.root / rel).is_symlink()
                   and not _inside(self._real_root, os.path.realpath(self.root / rel))]
        kept = [rel for rel in changed if rel not in refused]
        self.objects.mkdir(parents=True, exist_ok=True)
        objects = {"GIT_OBJECT_DIRECTORY": str(self.objects),
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join(
                       str(p) for p in self.source.alternates if p != self.objects)}
        with tempfile.TemporaryDirectory(prefix="yui-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_LITERAL_PATHSPECS": "1",
                   **objects}
            from_stdin = ["--pathspec-from-file=-", "--pathspec-file-nul"]
            git(["read-tree", head], cwd=self.root, env=env)
            if kept:
                git([*self._excludes, "add", "-A", *from_stdin], cwd=self.root, env=env,
                    stdin=_nul_list(kept))
            if refused:
                git(["rm", "-q", "--cached", "--ignore-unmatch", *from_stdin],
                    cwd=self.root, env=env, stdin=_nul_list(refused))
            tree = git_out(["write-tree"], cwd=self.root, env=env)
        # The sandbox's HEAD is this commit, so the agent's `git diff` shows only its work.
        return git_out(["commit-tree", tree, "-p", head, "-m", _BASE_MESSAGE], cwd=self.root,
                       env=objects)

    def _copy_folder(self, sandbox: Sandbox) -> None:
        assert sandbox.git_dir is not None
        for stale in (sandbox.path, sandbox.git_dir):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.copytree(self.root, sandbox.path, symlinks=True, ignore=_skip_state)
        init_git_dir(sandbox.git_dir, sandbox.source)
        sandbox.git(["add", "-A"])
        tree = git_out([*sandbox.git_args(), "write-tree"])
        sandbox.base = git_out([*sandbox.git_args(), "commit-tree", tree, "-m", _BASE_MESSAGE])
        init_git_dir(sandbox.git_dir, sandbox.source, head=sandbox.base)

    def _reset(self, sandbox: Sandbox) -> None:
        sandbox.reset()
        # Rebuilt here rather than at the next hand-out, which then has nothing to do
        # when the base is unchanged (the pool folder is read-only to every agent).
        sandbox.give_agent_git()


    def _remove(self, sandbox: Sandbox) -> None:
        shutil.rmtree(sandbox.path, ignore_errors=True)
        shutil.rmtree(sandbox.git_dir, ignore_errors=True)
