"""Staging a sandbox's work tree into a scratch index, repositories nested inside included.

``git add`` refuses (or records a bare gitlink for) a folder holding a repository of its
own: an agent that ran ``git init sub`` or ``cargo new`` would lose those files. Here each
nested repository is staged on its own, as plain files (its ``.git`` left out), and its tree
grafted in at its path, so the change set carries every file the agent made.
"""

from __future__ import annotations

import os
from pathlib import Path

from yui_lsp.errors import YuiError
from yui_lsp.workspace import safe_fs
from yui_lsp.workspace.gitcmd import git, git_out, split_z

#: How deep repositories nested by an agent are taken apart.
MAX_NESTING = 8


class UnsafeChangeError(YuiError):
    """A sandbox holds a change that cannot land safely."""


def _nul(paths: list[str]) -> bytes:
    return b"\0".join(os.fsencode(p) for p in paths)


def status_entries(args: list[str], env: dict[str, str] | None = None,
                   ignored: bool = False) -> list[tuple[str, str]]:
    """``git status`` of the work tree ``args`` address, as (code, path) pairs."""
    flags = ["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all"]
    if ignored:
        flags.append("--ignored=matching")
    out = git([*args, *flags], env=env).stdout
    return [(entry[:2], entry[3:]) for entry in split_z(out)]


def stage(
    git_dir: Path, work_tree: Path, index: Path, scratch: Path,
    entries: list[tuple[str, str]] | None = None, depth: int = 0,
) -> None:
    """``git add -A`` of ``work_tree`` into ``index``; only the paths of ``entries`` (a
    status of it against the index) when given. Nested repositories become plain files."""
    args = ["--git-dir", str(git_dir), "--work-tree", str(work_tree)]
    env = {"GIT_INDEX_FILE": str(index)}
    if entries is None:
        entries = status_entries(args, env)
        wanted: list[str] | None = None
    else:
        wanted = [rel for code, rel in entries if code != "!!"]
    # With --untracked-files=all, git names a folder only when it holds a repository.
    nested = [rel.rstrip("/") for code, rel in entries if code == "??" and rel.endswith("/")]
    if wanted is None:
        spec = [":(top)", *(f":(exclude,top,literal){rel}" for rel in nested)]
        git([*args, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
            env=env, stdin=_nul(spec))
    else:
        spec = [rel for rel in wanted if rel.rstrip("/") not in nested]
        if spec:
            git([*args, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"],
                env={**env, "GIT_LITERAL_PATHSPECS": "1"}, stdin=_nul(spec))
    for rel in nested:
        if depth >= MAX_NESTING:
            raise UnsafeChangeError(f"repositories nested more than {MAX_NESTING} deep at {rel}")
        where = safe_fs.resolve_dir(work_tree, rel)
        inner = scratch / f"nested-{depth}-{len(os.listdir(scratch))}"
        stage(git_dir, where, inner, scratch, None, depth + 1)
        tree = git_out(["--git-dir", str(git_dir), "write-tree"],
                       env={"GIT_INDEX_FILE": str(inner)})
        literal = {**env, "GIT_LITERAL_PATHSPECS": "1"}
        git([*args, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", rel],
            env=literal)
        git([*args, "read-tree", f"--prefix={rel}/", tree], env=env)
