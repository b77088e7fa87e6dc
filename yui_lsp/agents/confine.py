"""OS-level confinement of agent processes with bubblewrap (``bwrap``).

An agent runs with cwd = its sandbox, but nothing in a plain subprocess stops it from writing
the user's workspace by absolute path. Confined, the agent sees the whole machine as usual
except that the workspace is mounted read-only; its sandbox (and the git directory its
worktree needs) stay writable, so the only way into the user's files is integration. With
``--die-with-parent`` the agent is SIGKILLed when the coordinator dies, even by SIGKILL.

:class:`ConfineRequest` says *what* to protect (executor-neutral data on the process spec);
:func:`plan_launch` is how the local executor does it. See docs/confinement.md.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from yui_lsp.config import ConfineMode
from yui_lsp.errors import AgentUnavailableError

#: Overrides where bwrap is found (default: ``bwrap`` on PATH).
BWRAP_ENV = "YUI_BWRAP"
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap; Arch: pacman -S bubblewrap)"
)
_PROBE_TIMEOUT_S = 10.0

# bwrap path -> None when it works here, else why not. Probed once per process: whether user
# namespaces are allowed does not change while we run.
_probed: dict[str, str | None] = {}


@dataclass(frozen=True)
class ConfineRequest:
    """What an agent process may not write: ``workspace``, apart from its own sandbox (and
    the git directory and temp dir, should they lie inside it)."""

    mode: ConfineMode
    #: The user's workspace, read-only for the agent (None = nothing to protect).
    workspace: Path | None
    #: The agent's sandbox (its cwd): always writable.
    sandbox: Path


def bwrap_executable() -> str | None:
    """The bwrap to use: ``$YUI_BWRAP`` if set, else ``bwrap`` on PATH; None if missing."""
    override = os.environ.get(BWRAP_ENV, "").strip()
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("bwrap")


def _base_flags() -> list[str]:
    # The whole machine as it is (devices included) and SIGKILL for the agent when bwrap's
    # parent (us) dies. No PID namespace: the agent's pids stay the machine's, so what it
    # reports (pid files, `ps`) means the same to us and to the user.
    return ["--dev-bind", "/", "/", "--die-with-parent"]


def probe(bwrap: str) -> str | None:
    """None if ``bwrap`` can build our kind of sandbox here, else the reason it cannot."""
    with tempfile.TemporaryDirectory(prefix="yui-confine-") as scratch:
        argv = [
            bwrap, *_base_flags(), "--ro-bind", scratch, scratch, "--",
            sys.executable, "-c", "pass",
        ]
        try:
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{bwrap} could not be run ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        why = said[-1] if said else f"exit {done.returncode}"
        return (
            f"{bwrap} does not work here ({why}); it needs unprivileged user namespaces "
            "or root"
        )
    return None


async def unavailable_reason() -> str | None:
    """None when confinement works on this machine, else why not (probed once, cached)."""
    bwrap = bwrap_executable()
    if bwrap is None:
        where = f"${BWRAP_ENV}" if os.environ.get(BWRAP_ENV, "").strip() else "PATH"
        return f"bwrap (bubblewrap) not found on {where}"
    if bwrap not in _probed:
        _probed[bwrap] = await anyio.to_thread.run_sync(probe, bwrap)
    return _probed[bwrap]


def git_common_dir(sandbox: Path) -> Path | None:
    """The git directory a worktree sandbox writes to (index, objects, refs), if any."""
    marker = sandbox / ".git"
    if not marker.is_file():
        return None
    try:
        text = marker.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = Path(text.removeprefix("gitdir:").strip())
    if not gitdir.is_absolute():
        gitdir = sandbox / gitdir
    commondir = gitdir / "commondir"
    try:
        common = gitdir / commondir.read_text(encoding="utf-8").strip()
    except OSError:
        common = gitdir
    return Path(os.path.realpath(common))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def writable_paths(request: ConfineRequest) -> list[Path]:
    """What stays writable inside the read-only workspace, shallowest first."""
    sandbox = Path(os.path.realpath(request.sandbox))
    if request.workspace is None:
        return [sandbox]
    wanted = [sandbox]
    common = git_common_dir(sandbox)
    if common is not None:
        wanted.append(common)
    # Agents and the tools they run need a temp dir, even if the workspace holds it.
    wanted.append(Path(os.path.realpath(tempfile.gettempdir())))
    workspace = Path(os.path.realpath(request.workspace))
    # The sandbox itself is always bound (cheap, and it pins the agent's cwd); the others
    # only where the read-only workspace would otherwise hide them.
    keep = {p for p in wanted if p == sandbox or _inside(p, workspace)}
    return sorted(keep, key=lambda p: len(p.parts))


def bwrap_argv(bwrap: str, request: ConfineRequest, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped in bwrap with the workspace read-only (pure; no probing)."""
    flags = _base_flags()
    if request.workspace is not None:
        workspace = os.path.realpath(request.workspace)
        flags += ["--ro-bind", workspace, workspace]
    # Later mounts win over earlier ones, so writable holes go after the read-only bind.
    for path in writable_paths(request):
        flags += ["--bind", str(path), str(path)]
    flags += ["--chdir", os.path.realpath(request.sandbox)]
    return [bwrap, *flags, "--", *argv]


def _check_executable(argv0: str, env: Mapping[str, str], cwd: Path) -> None:
    # Inside bwrap a missing program is bwrap's exit 1; raise what a direct exec would, so
    # the caller reports "cannot start X" as it does unconfined.
    if os.sep in argv0:
        path = Path(argv0) if os.path.isabs(argv0) else cwd / argv0
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv0)
        if not os.access(path, os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), argv0)
    elif shutil.which(argv0, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv0)


@dataclass(frozen=True)
class Launch:
    """How to start one agent process locally."""

    argv: list[str]
    #: True when ``argv`` runs the agent under bwrap.
    confined: bool
    #: Why it runs unconfined although confinement was asked for (mode auto), if it does.
    note: str | None = None


async def plan_launch(
    request: ConfineRequest | None,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
) -> Launch:
    """How to start ``argv`` honouring ``request``.

    Raises AgentUnavailableError in mode ``required`` when confinement is not possible, and
    FileNotFoundError/PermissionError when the program itself cannot be started.
    """
    if request is None or request.mode == "off":
        return Launch(list(argv), confined=False)
    reason = await unavailable_reason()
    if reason is not None:
        if request.mode == "required":
            raise AgentUnavailableError(
                f"agent confinement is required (confine = \"required\") but {reason}: "
                f"{INSTALL_HINT}, or set confine = \"auto\""
            )
        return Launch(
            list(argv), confined=False, note=f"running unconfined: {reason} ({INSTALL_HINT})"
        )
    bwrap = bwrap_executable()
    assert bwrap is not None
    _check_executable(argv[0], env, cwd)
    return Launch(bwrap_argv(bwrap, request, argv), confined=True)
