"""OS-level confinement of agent processes with bubblewrap (``bwrap``).

An agent runs with cwd = its sandbox, but nothing in a plain subprocess stops it from writing
the user's workspace by absolute path. Confined, the agent sees the whole machine as usual
except that the workspace (the user's ``.git`` included) and the sandbox pool (yui's own git
directories, other tasks' sandboxes) are mounted read-only; only its sandbox (with the
agent's own ``.git`` inside) and the temp dir stay writable, so the only way into the user's
files is integration. It runs in a PID namespace of its own: when the agent's main process
ends, the kernel kills everything it started, daemons that called ``setsid`` or
double-forked included; with ``--die-with-parent`` that also happens when the coordinator
dies, even by SIGKILL.

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
    """What an agent process may not write: ``workspace`` and ``protected``, apart from its
    own sandbox (and the temp dir, should it lie inside them)."""

    mode: ConfineMode
    #: The user's workspace, read-only for the agent (None = nothing to protect).
    workspace: Path | None
    #: The agent's sandbox (its cwd): always writable.
    sandbox: Path
    #: More folders the agent may read but not write (the sandbox pool: yui's git
    #: directories and other tasks' sandboxes).
    protected: tuple[Path, ...] = ()


def bwrap_executable() -> str | None:
    """The bwrap to use: ``$YUI_BWRAP`` if set, else ``bwrap`` on PATH; None if missing."""
    override = os.environ.get(BWRAP_ENV, "").strip()
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("bwrap")


def _base_flags() -> list[str]:
    # The whole machine as it is (devices included), SIGKILL for the agent when bwrap's
    # parent (us) dies, and a PID namespace (with its own /proc): when the agent's main
    # process exits, bwrap's init exits and the kernel kills every process left inside.
    return ["--dev-bind", "/", "/", "--die-with-parent", "--unshare-pid", "--proc", "/proc"]


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


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def readonly_paths(request: ConfineRequest) -> list[Path]:
    """What the agent may not write: the workspace and the protected folders."""
    wanted = [request.workspace, *request.protected]
    return sorted({Path(os.path.realpath(p)) for p in wanted if p is not None},
                  key=lambda p: len(p.parts))


def writable_paths(request: ConfineRequest) -> list[Path]:
    """What stays writable inside the read-only folders, shallowest first.

    Never the user's ``.git``: the sandbox has a git directory of its own.
    """
    sandbox = Path(os.path.realpath(request.sandbox))
    readonly = readonly_paths(request)
    # Agents and the tools they run need a temp dir, even if a read-only folder holds it.
    temp = Path(os.path.realpath(tempfile.gettempdir()))
    keep = {sandbox}
    if any(_inside(temp, ro) for ro in readonly) and not any(
            _inside(ro, temp) for ro in readonly):
        keep.add(temp)
    return sorted(keep, key=lambda p: len(p.parts))


def bwrap_argv(bwrap: str, request: ConfineRequest, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped in bwrap with the workspace read-only (pure; no probing)."""
    flags = _base_flags()
    for path in readonly_paths(request):
        flags += ["--ro-bind", str(path), str(path)]
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
