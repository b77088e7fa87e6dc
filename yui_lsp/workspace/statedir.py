"""The ``.yui/`` folder: where every coordinator on a repository keeps its shared state."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

STATE_DIR_NAME = ".yui"
_EXCLUDE_LINE = ".yui/"


def state_dir(root: Path) -> Path:
    """``root/.yui`` (created), kept out of git through ``.git/info/exclude``.

    The exclude file, unlike ``.gitignore``, is never committed, so yui leaves no trace in
    the user's history.
    """
    path = Path(root) / STATE_DIR_NAME
    path.mkdir(parents=True, exist_ok=True)
    git_dir = Path(root) / ".git"
    if git_dir.is_dir():
        _exclude_from_git(git_dir / "info" / "exclude")
    return path


def _exclude_from_git(exclude: Path) -> None:
    try:
        text = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    if present & {_EXCLUDE_LINE, "/.yui/", ".yui", "/.yui"}:
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not text or text.endswith("\n") else "\n"
    with exclude.open("a", encoding="utf-8") as fh:
        fh.write(f"{prefix}{_EXCLUDE_LINE}\n")


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX needs the folder fsynced too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file, fsync, rename, fsync folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


# --------------------------------------------------------------------------- barriers

# Filesystems whose syncfs(2) flushes every file's data and every folder entry to stable
# storage (statfs f_type magics). Elsewhere (NFS, FUSE, unknown) each file and folder is
# fsynced on its own, which every POSIX filesystem honours.
_SYNCFS_FILESYSTEMS = frozenset({
    0xEF53,  # ext2/3/4
    0x58465342,  # xfs
    0x9123683E,  # btrfs
    0xF2F52010,  # f2fs
    0x2FC12FC1,  # zfs
    0xCA451A4E,  # bcachefs
    0x01021994,  # tmpfs (nothing survives a reboot there anyway)
    0x794C7630,  # overlayfs (syncs its upper filesystem)
})


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


@lru_cache(maxsize=256)
def _device_has_syncfs(device: int, folder: str) -> bool:
    """Whether syncfs(2) is trustworthy on the filesystem ``device`` (``folder`` lies on it)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "syncfs"):
        return False
    # struct statfs starts with f_type (a long) on every 64-bit Linux; 256 bytes hold it all.
    buffer = ctypes.create_string_buffer(256)
    if libc.statfs(os.fsencode(folder), buffer) != 0:
        return False
    f_type = ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF
    return f_type in _SYNCFS_FILESYSTEMS


def syncfs_supported(folder: Path) -> bool:
    """Whether :class:`WriteBarrier` flushes ``folder``'s filesystem with one syncfs(2)."""
    return _device_has_syncfs(os.stat(folder).st_dev, str(folder))


def syncfs(fd: int, folder: Path) -> None:
    """Flush the whole filesystem of ``fd`` (open on ``folder``): data, inodes, entries."""
    libc = _libc()
    assert libc is not None
    if libc.syncfs(fd) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error), str(folder))


def fsync_file(path: Path) -> None:
    """Flush one file's data and inode."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteBarrier:
    """Write barriers for one unit of work (an apply, a recovery) on the workspace's disks.

    :meth:`flush` makes every write to the given files and every entry change in the given
    folders so far reach stable storage. Where the filesystem supports it, that is one
    syncfs(2) per filesystem involved, whatever the number of files (an apply of thousands
    of files costs a few flushes, not thousands); elsewhere each file and folder is fsynced.

    Open it before the unit's first write: syncfs reports a failed write-back only to
    descriptors opened before another process or thread saw that error, so the descriptor
    for the anchor's filesystem is taken at once.
    """

    def __init__(self, anchor: Path) -> None:
        self._fds: dict[int, tuple[int, Path]] = {}
        self._watch(anchor)

    def __enter__(self) -> WriteBarrier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _watch(self, folder: Path) -> bool:
        """Keep a descriptor on ``folder``'s filesystem; False if syncfs is not trusted there."""
        device = os.stat(folder).st_dev
        if device in self._fds:
            return True
        if not _device_has_syncfs(device, str(folder)):
            return False
        self._fds[device] = (os.open(folder, os.O_RDONLY | os.O_DIRECTORY), folder)
        return True

    def flush(self, files: Iterable[Path], folders: Iterable[Path]) -> None:
        """The barrier; ``folders`` must include the folder of each file."""
        folders = list(folders)
        trusted = True
        for folder in folders:
            try:
                trusted = self._watch(folder)
            except FileNotFoundError:
                continue  # removed meanwhile (a rolled back creation): nothing left to flush
            if not trusted:
                break
        if trusted:
            for fd, anchor in self._fds.values():
                syncfs(fd, anchor)
            return
        for path in files:
            fsync_file(path)
        for folder in folders:
            if folder.is_dir():
                fsync_dir(folder)

    def close(self) -> None:
        for fd, _ in self._fds.values():
            os.close(fd)
        self._fds.clear()
