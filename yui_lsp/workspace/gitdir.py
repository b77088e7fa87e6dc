"""Git directories yui owns: the coordinator's per sandbox, and the agent's inside it.

A sandbox of a git repository has two git directories, neither of them the user's:

* the **coordinator's** (``<pool>/<name>.gitdir``, beside the work tree, never inside it):
  its index and HEAD record the sandbox's base; every git command yui runs on the sandbox
  uses it through explicit ``--git-dir``/``--work-tree`` and isolated config
  (:mod:`yui_lsp.workspace.gitcmd`). Under bubblewrap the agent cannot write it; without,
  :func:`harden` rewrites what could make git run or read something else (config,
  alternates, refs, info/) before yui uses it.
* the **agent's** (``<sandbox>/.git``, a plain folder): HEAD detached at the base, a copy
  of the coordinator's index, objects borrowed from the user's repository through an
  alternates file. The agent may do anything with it (commit, configure hooks); yui never
  reads it, and it is rebuilt at every hand-out.

Both borrow the user's objects **read-only** (git only reads through alternates; new
objects go to the borrowing directory), so the user's ``.git`` — config, hooks, refs,
objects — is never written by an agent. To build a sandbox elsewhere (another machine),
make the base commit's objects available in some object folder, :func:`init_git_dir` with
that folder as alternate, then ``checkout --detach --force BASE`` with the sandbox's
:meth:`~yui_lsp.workspace.sandbox.Sandbox.git_args`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from yui_lsp.workspace.gitcmd import git_out

#: Files and folders of a git directory that could redirect or extend what git reads:
#: removed from the coordinator's git directory before every use.
_UNTRUSTED = ("config.worktree", "commondir", "gitdir", "info", "shallow", "packed-refs",
              "hooks", "modules", "worktrees", "objects/info/http-alternates",
              "objects/info/commit-graphs", "objects/info/commit-graph")


@dataclass(frozen=True)
class ObjectSource:
    """Where a sandbox's git directories borrow objects from, and their format."""

    #: Object folders (absolute), read through ``objects/info/alternates``.
    alternates: tuple[Path, ...] = ()
    #: ``sha1`` or ``sha256``.
    object_format: str = "sha1"

    def config_text(self) -> str:
        """The whole config of a git directory yui writes: nothing that runs anything."""
        version = 1 if self.object_format != "sha1" else 0
        text = (
            "[core]\n"
            f"\trepositoryformatversion = {version}\n"
            "\tbare = false\n"
            "\tlogallrefupdates = false\n"
            "\tfilemode = true\n"
            "\tsymlinks = true\n"
        )
        if version:
            text += f"[extensions]\n\tobjectformat = {self.object_format}\n"
        return text

    def alternates_text(self) -> str:
        return "".join(f"{os.fspath(p)}\n" for p in self.alternates)


def object_source_of(root: Path) -> ObjectSource:
    """The object folder and format of the user's repository at ``root`` (read once)."""
    common = Path(git_out(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=root))
    fmt = git_out(["rev-parse", "--show-object-format"], cwd=root) or "sha1"
    return ObjectSource(alternates=(Path(os.path.realpath(common / "objects")),),
                        object_format=fmt)


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return
    except OSError:
        pass
    _remove(path)
    path.write_bytes(data)


def _remove(path: Path) -> None:
    """Remove a file, symlink or folder at ``path`` without following any link."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def init_git_dir(git_dir: Path, source: ObjectSource, head: str | None = None) -> None:
    """Create (or re-create the skeleton of) a git directory yui owns at ``git_dir``."""
    git_dir.mkdir(parents=True, exist_ok=True)
    harden(git_dir, source)
    if head is not None:
        _write_if_changed(git_dir / "HEAD", f"{head}\n")
    elif not (git_dir / "HEAD").is_file():
        _write_if_changed(git_dir / "HEAD", "ref: refs/heads/main\n")


def harden(git_dir: Path, source: ObjectSource) -> None:
    """Put back the config, alternates and refs yui wrote; drop anything that redirects."""
    for name in _UNTRUSTED:
        with contextlib.suppress(FileNotFoundError):
            _remove(git_dir / name)
    _write_if_changed(git_dir / "config", source.config_text())
    for folder in ("refs", "objects"):
        if (git_dir / folder).is_symlink() or not (git_dir / folder).is_dir():
            with contextlib.suppress(FileNotFoundError):
                _remove(git_dir / folder)
            (git_dir / folder).mkdir()
    refs = git_dir / "refs"
    if any(refs.iterdir()):
        shutil.rmtree(refs)
        refs.mkdir()
    info = git_dir / "objects" / "info"
    if info.is_symlink() or (info.exists() and not info.is_dir()):
        _remove(info)
    info.mkdir(exist_ok=True)
    alternates = source.alternates_text()
    if alternates:
        _write_if_changed(info / "alternates", alternates)
    else:
        with contextlib.suppress(FileNotFoundError):
            _remove(info / "alternates")


def head_of(git_dir: Path) -> str:
    """What HEAD of a git directory yui owns holds (a commit id when detached), "" if none."""
    try:
        return (git_dir / "HEAD").read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def give_agent_git_dir(
    work_tree: Path, base: str, source: ObjectSource, index: Path | None,
    extra_alternates: Sequence[Path] = (),
) -> None:
    """(Re)build ``<work_tree>/.git`` for the agent: HEAD at ``base``, borrowed objects.

    Whatever the last task left there (hooks, config, a ``.git`` file or link pointing
    elsewhere) is removed first, without following links.
    """
    dot_git = work_tree / ".git"
    with contextlib.suppress(FileNotFoundError):
        _remove(dot_git)
    (dot_git / "objects" / "info").mkdir(parents=True)
    (dot_git / "refs" / "heads").mkdir(parents=True)
    (dot_git / "refs" / "tags").mkdir()
    (dot_git / "config").write_text(source.config_text(), "utf-8")
    alternates = [*source.alternates, *extra_alternates]
    (dot_git / "objects" / "info" / "alternates").write_text(
        "".join(f"{os.fspath(p)}\n" for p in alternates), "utf-8"
    )
    (dot_git / "HEAD").write_text(f"{base}\n", "ascii")
    if index is not None and index.is_file():
        shutil.copy2(index, dot_git / "index")  # its mtime too: see Sandbox._scratch_index
