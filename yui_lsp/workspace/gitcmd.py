"""Running git: argv lists only, never a shell, and never a program someone else configured.

Git configuration can name programs git then runs (hooks, ``core.fsmonitor``, pagers,
external diffs, textconv and clean/smudge filters, credential helpers, editors, ssh). An
agent can write the configuration of its sandbox, so every git command here runs with:

* no ``GIT_*`` variable inherited from our environment (no ``GIT_DIR``, ``GIT_CONFIG_*``,
  alternates or index someone set), only the ones we pass;
* the keys that run programs forced off on the command line (``-c`` wins over every file);
* no system or global config and no system attributes: an agent may write ``/etc`` or the
  user's home (bubblewrap leaves both writable), and a filter it defines there would run
  the moment a file it landed names it in ``.gitattributes``. The user's global ignore
  file is passed explicitly (:func:`user_excludes`), so what is "ignored" stays the user's;
* on a sandbox, the repository config is the one :mod:`yui_lsp.workspace.gitdir` wrote
  (GIT_DIR and GIT_WORK_TREE are always explicit, so no ``.git`` entry of the sandbox is
  ever read).

The user's own repository config (``.git/config``) is read: it is the user's, and no agent
can write it (read-only under bubblewrap; unconfined agents are documented in
docs/security.md).
"""

from __future__ import annotations

import contextlib
import os
import re
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

#: Config keys that make git run a program, forced off for every command yui runs.
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("core.fsmonitor", "false"),
    ("core.untrackedCache", "false"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("core.sshCommand", "false"),
    ("core.askPass", ""),
    ("core.quotePath", "false"),
    ("diff.external", ""),
    ("credential.helper", ""),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("protocol.allow", "never"),
    ("sequence.editor", ":"),
)

#: Environment of every git command (on top of ours minus every inherited GIT_* variable).
_BASE_ENV = {
    **_IDENTITY,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": ":",
    "GIT_OPTIONAL_LOCKS": "0",
}

#: Nothing from /etc/gitconfig, ~/.gitconfig, $XDG_CONFIG_HOME/git or /etc/gitattributes.
_ISOLATED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
}

#: A full commit id (SHA-1 or SHA-256 repositories).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class GitError(YuiError):
    """A git command yui needs failed."""


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a yui git command runs with (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_BASE_ENV)
    env.update(_ISOLATED_ENV)
    env.update(extra or {})
    return env


def user_excludes() -> list[str]:
    """``-c core.excludesFile=...`` naming the user's global ignore file, if any.

    Read as git reads it (``core.excludesFile`` of the global config, else
    ``$XDG_CONFIG_HOME/git/ignore``), without running git on that config.
    """
    path = _global_excludes_file()
    return ["-c", f"core.excludesFile={path}"] if path else []


def _global_excludes_file() -> str:
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "git"
    for config in (xdg / "config", home / ".gitconfig"):
        found = _config_value(config, "core", "excludesfile")
        if found:
            return os.path.expanduser(found)
    default = xdg / "ignore"
    return str(default) if default.is_file() else ""


def _config_value(path: Path, section: str, key: str) -> str:
    """A plain ``key = value`` of ``[section]`` in a git config file ("" if absent)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    current, value = "", ""
    for raw in lines:
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if line.startswith("["):
            current = line.strip("[]").strip().lower()
        elif current == section and "=" in line:
            name, _, found = line.partition("=")
            if name.strip().lower() == key:
                value = found.strip().strip('"')
    return value


def safe_config_args() -> list[str]:
    """``-c key=value`` pairs turning off every program-running key."""
    args: list[str] = []
    for key, value in SAFE_CONFIG:
        args += ["-c", f"{key}={value}"]
    return args


_SAFE_ARGS = safe_config_args()


def git(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` with every program-running config key off and no system or global
    config (see the module docstring)."""
    argv = ["git", *_SAFE_ARGS, *args]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=git_env(env), input=stdin,
            capture_output=True, check=False,
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
    args: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
) -> str:
    """Stdout of ``git ARGS``, stripped."""
    done = git(args, cwd=cwd, env=env)
    return done.stdout.decode("utf-8", "replace").strip()


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


def git_dir_of(work_tree: Path) -> Path | None:
    """The git folder of ``work_tree`` (following a worktree's ``.git`` file), None if none."""
    dot_git = Path(work_tree) / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        first = dot_git.read_text("utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir: "):
        return None
    target = Path(first[len("gitdir: "):].strip())
    return target if target.is_absolute() else (Path(work_tree) / target).resolve()


def _ref_value(git_dir: Path, ref: str) -> str | None:
    """A ref's commit id from the loose ref files or packed-refs; None when not found there."""
    common = git_dir
    with contextlib.suppress(OSError):
        common = (git_dir / (git_dir / "commondir").read_text("utf-8").strip()).resolve()
    for folder in dict.fromkeys((git_dir, common)):
        with contextlib.suppress(OSError):
            return (folder / ref).read_text("ascii").strip()
    with contextlib.suppress(OSError):
        for line in (common / "packed-refs").read_text("utf-8").splitlines():
            if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                return line.split(" ", 1)[0]
    return None


def read_head(work_tree: Path) -> str:
    """The commit id HEAD of ``work_tree`` points at.

    Read from the ref files: spawning ``git rev-parse`` per sandbox costs more CPU than the
    rest of a warm hand-out. Anything unusual (reftable, a symref chain, a missing ref) goes
    to git itself, so the answer is always git's.
    """
    git_dir = git_dir_of(work_tree)
    value: str | None = None
    if git_dir is not None and not (git_dir / "reftable").exists():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            value = (git_dir / "HEAD").read_text("ascii").strip()
        if value is not None and value.startswith("ref: "):
            value = _ref_value(git_dir, value[len("ref: "):].strip())
    if value is not None and _OBJECT_ID.fullmatch(value):
        return value
    return git_out(["rev-parse", "--verify", "HEAD"], cwd=work_tree)
