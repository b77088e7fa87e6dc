"""Running git: argv lists only, never a shell, hooks off, a fixed identity for our commits."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from yui_lsp.errors import YuiError

#: Our own commits (sandbox bases) need an identity even where the user configured none.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "yui",
    "GIT_AUTHOR_EMAIL": "yui@localhost",
    "GIT_COMMITTER_NAME": "yui",
    "GIT_COMMITTER_EMAIL": "yui@localhost",
}


class GitError(YuiError):
    """A git command yui needs failed."""


def git(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` with the repository's hooks disabled (sandboxes must not run them)."""
    full_env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    argv = ["git", "-c", f"core.hooksPath={os.devnull}", "-c", "core.quotePath=false", *args]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=full_env, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git not found on PATH (install git; yui needs it)") from None
    if check and done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"`git {' '.join(args[:3])}` failed: {detail[-1] if detail else done.returncode}"
        )
    return done


def git_out(
    args: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Stdout of ``git ARGS``, stripped."""
    return git(args, cwd=cwd, env=env).stdout.decode("utf-8", "replace").strip()


def is_git_root(root: Path) -> bool:
    """True when ``root`` is the top folder of a git work tree with at least one commit."""
    if not (Path(root) / ".git").exists():
        return False
    top = git(["rev-parse", "--show-toplevel"], cwd=root, check=False)
    if top.returncode != 0:
        return False
    same = os.path.realpath(top.stdout.decode().strip()) == os.path.realpath(root)
    has_head = git(["rev-parse", "--verify", "-q", "HEAD"], cwd=root, check=False)
    return same and has_head.returncode == 0


def split_z(data: bytes) -> list[str]:
    """NUL-separated git output as strings."""
    return [p.decode("utf-8", "surrogateescape") for p in data.split(b"\0") if p]
