"""Where a coordinator keeps what is not a plain file: its control socket.

The workspace's file system may not hold sockets at all (network shares, VM shared
folders, WSL's Windows drives, many FUSE file systems answer ``bind`` with ENOSYS or
EPERM), and a socket path inside a deep workspace may exceed the AF_UNIX limit. So sockets
live in a private per-user runtime folder — ``$XDG_RUNTIME_DIR/yui`` where the session has
one, else ``<temp dir>/yui-<uid>`` — named from the repository's identity, and ``.yui/``
holds plain files only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from yui_lsp.errors import YuiError

#: sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


class RuntimeDirError(YuiError):
    """The per-user runtime folder exists but is not private to this user."""


def _private(folder: Path) -> Path:
    """``folder``, created 0700 if missing; refused unless it is ours and private."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700, parents=False)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise RuntimeDirError(
            f"{folder} is not a folder owned by you: yui will not put its control socket "
            "there (remove it, or set XDG_RUNTIME_DIR to a private folder)"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def runtime_dir() -> Path:
    """This user's private runtime folder for yui (created)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
        try:
            info = base.stat()
        except OSError:
            info = None
        if info is not None and info.st_uid == os.geteuid() and stat.S_ISDIR(info.st_mode):
            candidate = base / "yui"
            if len(os.fsencode(candidate)) + 40 <= MAX_SOCKET_PATH:
                return _private(candidate)
    return _private(Path(tempfile.gettempdir()) / f"yui-{os.geteuid()}")


def repository_key(root: Path) -> str:
    """A short name for the repository at ``root``, the same for every process."""
    real = os.path.realpath(root)
    return hashlib.sha256(os.fsencode(real)).hexdigest()[:16]


def socket_path(root: Path, coordinator_id: str) -> Path:
    """The control socket of coordinator ``coordinator_id`` on the repository at ``root``."""
    folder = runtime_dir()
    path = folder / f"{repository_key(root)}-{coordinator_id}.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(f"{repository_key(root)}/{coordinator_id}".encode()).hexdigest()
    path = folder / f"{digest[:24]}.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    # Even the runtime folder's path is too long (a very deep TMPDIR): use /tmp itself.
    return _private(Path("/tmp") / f"yui-{os.geteuid()}") / f"{digest[:24]}.sock"
