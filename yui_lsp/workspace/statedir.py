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
    """Whether :func:`make_durable` flushes ``folder``'s filesystem with one syncfs(2)."""
    return _device_has_syncfs(os.stat(folder).st_dev, str(folder))


def syncfs(folder: Path) -> None:
    """Flush the whole filesystem holding ``folder``: data, inodes and folder entries."""
    libc = _libc()
    assert libc is not None
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if libc.syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(folder))
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush one file's data and inode."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_durable(files: Iterable[Path], folders: Iterable[Path]) -> None:
    """A write barrier: every write to ``files`` and every entry change in ``folders`` so far
    reaches stable storage before this returns.

    ``folders`` must include the folder of each file. Where the filesystem supports it, this
    is one syncfs(2) per filesystem involved, whatever the number of files (an apply of
    thousands of files costs a few flushes, not thousands); elsewhere each file and folder is
    fsynced.
    """
    folders = list(folders)
    by_device: dict[int, Path] = {}
    for folder in folders:
        try:
            by_device.setdefault(os.stat(folder).st_dev, folder)
        except FileNotFoundError:
            continue  # removed meanwhile (a rolled back creation): nothing left to flush
    if by_device and all(_device_has_syncfs(dev, str(f)) for dev, f in by_device.items()):
        for folder in by_device.values():
            syncfs(folder)
        return
    for path in files:
        fsync_file(path)
    for folder in folders:
        if folder.is_dir():
            fsync_dir(folder)
