"""The ``.yui/`` folder: where every coordinator on a repository keeps its shared state.

Everything in it is owner-only (folders 0700, files 0600): it holds prompts, commands and
logs. And nothing in it is trusted more than its owner: yui reads state (journals, leases,
task tables, config) only from entries that are no symlink, belong to the user running yui
and are not writable by group or others; anything else is refused with
:class:`~yui_lsp.errors.UntrustedStateError` (git's rule for repositories owned by someone
else, CVE-2022-24765).
"""

from __future__ import annotations

import ctypes
import errno
import os
import pwd
import stat
import sys
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from yui_lsp.errors import StateFileError, UntrustedStateError, WorkspaceNotFoundError

STATE_DIR_NAME = ".yui"
_EXCLUDE_LINE = ".yui/"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _user(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name!r}"
    except KeyError:
        return f"uid {uid}"


def check_trusted(path: Path, st: os.stat_result | None = None) -> os.stat_result:
    """``path``'s lstat when yui may trust what it holds, else UntrustedStateError.

    Trusted = not a symlink, owned by the user running yui, not writable by group or others.
    """
    if st is None:
        st = os.lstat(path)
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = f"is a symlink (to {os.readlink(path)})"
    elif st.st_uid != os.geteuid():
        problem = f"belongs to {_user(st.st_uid)}, not to {_user(os.geteuid())}"
    elif st.st_mode & 0o022:
        problem = f"is writable by {'group and others' if st.st_mode & 0o002 else 'its group'}"
    if problem is not None:
        raise UntrustedStateError(
            f"{path} {problem}: yui does not use state another user or program could have "
            "written (delete it, or if you trust it, make it yours and owner-only: "
            "chown, chmod go-w)"
        )
    return st


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only folder: created 0700, or checked and tightened if it exists.

    A folder of the user's own that others could write in (an older yui, an odd umask) is
    made owner-only rather than refused: what others may have put in it is checked entry by
    entry when read.
    """
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE)
        st = os.lstat(path)
    except FileExistsError:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
            check_trusted(path, st)  # raises: not the user's own
        if not stat.S_ISDIR(st.st_mode):
            raise UntrustedStateError(f"{path} is not a folder; yui keeps its state there "
                                      "(move it away)") from None
    if stat.S_IMODE(st.st_mode) != PRIVATE_DIR_MODE:
        os.chmod(path, PRIVATE_DIR_MODE)  # created under an odd umask, or by an older yui
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` of a file under ``.yui/``: created 0600, an existing one of the user's made
    0600 too; a symlink or someone else's file is refused (UntrustedStateError)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            check_trusted(path)  # raises: a symlink
        raise
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            check_trusted(path, st)  # raises: not the user's own
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def state_dir(root: Path) -> Path:
    """``root/.yui`` (created owner-only, refused when not the user's own), kept out of git
    through ``.git/info/exclude``.

    The exclude file, unlike ``.gitignore``, is never committed, so yui leaves no trace in
    the user's history.
    """
    if not os.path.isdir(root):
        raise WorkspaceNotFoundError(str(root))  # never made up: see the LSP's rootUri
    path = private_dir(Path(root) / STATE_DIR_NAME)
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


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace the state file ``path`` with ``data`` (owner-only) so readers see the old or
    the new file, never half of one; ``durable`` also survives a power cut (fsync of the
    file before the rename, of its folder after). The one way yui writes its own state."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk keeps no half-written leftovers
            raise
        if durable:
            fsync_dir(path.parent)
    except OSError as exc:
        raise StateFileError(shown(path), exc) from exc


def open_log(path: Path) -> TextIO:
    """The log file ``path`` under ``.yui/``, opened owner-only for appending."""
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    except OSError as exc:
        raise StateFileError(shown(path), exc) from None
    return os.fdopen(fd, "a", encoding="utf-8")


def shown(path: Path) -> str:
    """``path`` from ``.yui/`` on, as the user knows it (as it is when not under ``.yui/``)."""
    parts = path.parts
    if STATE_DIR_NAME in parts:
        return "/".join(parts[len(parts) - parts[::-1].index(STATE_DIR_NAME) - 1:])
    return str(path)


def write_durably(path: Path, data: bytes) -> None:
    """:func:`write_atomic` that survives a power cut."""
    write_atomic(path, data, durable=True)


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


class _FlushGroup:
    """Group commit of syncfs(2) on one filesystem, for every apply of this process.

    Applies landing at once (the tasks of one ``yui refactor``) each need their writes on
    disk before their next step, and a syncfs costs the same for one file as for thousands.
    So one caller at a time (the leader) runs it; a caller that arrives while it runs waits
    for the next one, which the first of the waiters runs for all of them: any number of
    concurrent flush requests cost at most two syncfs calls in a row, not one each (a flush
    covers a caller only if it began after the caller's writes, hence "the next one").

    Errors: syncfs reports a failed write-back to each descriptor opened before it, once.
    The group's descriptor is opened before every barrier that uses it (it lives while one
    does), and each failure is kept with its generation, so a barrier fails when any flush
    since it was opened failed — whoever led that flush.
    """

    def __init__(self, folder: Path) -> None:
        self.fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        self.folder = folder
        self.users = 0
        self._cond = threading.Condition()
        self._started = 0  # generations of syncfs begun ...
        self._done = 0  # ... and ended (one runs at a time, so they end in order)
        self._running = False
        self._failures: list[tuple[int, OSError]] = []
        self.waiting = 0  # callers waiting for the next syncfs (tests watch it)

    def generation(self) -> int:
        """The last generation that ended: later failures concern a barrier opened now."""
        with self._cond:
            return self._done

    def sync(self, since: int) -> None:
        """Return once a syncfs that began after this call has ended; raise the error of any
        flush after generation ``since``."""
        with self._cond:
            wanted = self._started + 1  # a syncfs running now began before our writes
            while self._done < wanted:
                if self._running:
                    self.waiting += 1
                    self._cond.wait()
                    self.waiting -= 1
                    continue
                self._running = True
                self._started += 1
                self._lead(self._started)
            failure = next((exc for gen, exc in self._failures if gen > since), None)
        if failure is not None:
            raise OSError(failure.errno, failure.strerror, str(self.folder))

    def _lead(self, generation: int) -> None:
        """Run one syncfs for every waiter (called holding the lock, which it lets go)."""
        self._cond.release()
        failure = None
        try:
            syncfs(self.fd, self.folder)
        except OSError as exc:
            failure = exc
        finally:
            self._cond.acquire()
            self._running = False
            self._done = generation
            if failure is not None:
                self._failures = [*self._failures[-255:], (generation, failure)]
            self._cond.notify_all()


_GROUPS: dict[int, _FlushGroup] = {}
_GROUPS_LOCK = threading.Lock()


def _join_group(device: int, folder: Path) -> tuple[_FlushGroup, int]:
    """The flush group of ``device`` (opened on ``folder`` if new) and its generation now."""
    with _GROUPS_LOCK:
        group = _GROUPS.get(device)
        if group is None:
            group = _GROUPS[device] = _FlushGroup(folder)
        group.users += 1
    return group, group.generation()


def _leave_group(device: int, group: _FlushGroup) -> None:
    with _GROUPS_LOCK:
        group.users -= 1
        if group.users == 0:
            del _GROUPS[device]
            os.close(group.fd)


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
    of files costs a few flushes, not thousands), shared with the other applies of the
    process flushing at the same moment (:class:`_FlushGroup`); elsewhere each file and
    folder is fsynced.

    Open it before the unit's first write: syncfs reports a failed write-back only to
    descriptors opened before another process or thread saw that error, so the descriptor
    for the anchor's filesystem is taken at once.
    """

    def __init__(self, anchor: Path) -> None:
        self._groups: dict[int, tuple[_FlushGroup, int]] = {}  # device -> group, since
        self._watch(anchor)

    def __enter__(self) -> WriteBarrier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _watch(self, folder: Path) -> bool:
        """Join ``folder``'s filesystem's flush group; False if syncfs is not trusted there."""
        device = os.stat(folder).st_dev
        if device in self._groups:
            return True
        if not _device_has_syncfs(device, str(folder)):
            return False
        self._groups[device] = _join_group(device, folder)
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
            for group, since in self._groups.values():
                group.sync(since)
            return
        for path in files:
            fsync_file(path)
        for folder in folders:
            if folder.is_dir():
                fsync_dir(folder)

    def close(self) -> None:
        for device, (group, _) in self._groups.items():
            _leave_group(device, group)
        self._groups.clear()
