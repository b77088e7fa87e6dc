"""File access inside a tree someone else controls (a sandbox), never following a link out.

A path is walked one component at a time from a descriptor of the root, each folder opened
with ``O_NOFOLLOW | O_DIRECTORY`` relative to the last (``openat``), so a symlink swapped in
anywhere along the way is seen, not followed. Where links are allowed (``follow=True``, the
ACP file service), a link is resolved by its text, lexically, against the root: one leading
out (absolute, or ``..`` past the root) raises PathOutsideWorkspaceError, and nothing is
ever read or written outside the root.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from yui_lsp.errors import PathOutsideWorkspaceError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: Links followed in one lookup before giving up (the kernel's own limit).
_MAX_LINKS = 40


def _parts(rel: str) -> list[str]:
    """``rel`` as clean components; PathOutsideWorkspaceError for absolute or ``..`` paths."""
    if not rel or rel.startswith("/") or "\0" in rel:
        raise PathOutsideWorkspaceError(rel)
    clean = posixpath.normpath(rel)
    if clean == ".." or clean.startswith("../"):
        raise PathOutsideWorkspaceError(rel)
    return [] if clean == "." else clean.split("/")


def link_stays_inside(rel: str, target: str) -> bool:
    """Whether a link at ``rel`` with text ``target`` points inside its tree by text alone."""
    if not target or target.startswith("/") or "\0" in target:
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    return not (joined == ".." or joined.startswith("../"))


@contextlib.contextmanager
def _root_fd(root: Path) -> Iterator[int]:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _walk(root_fd: int, rel: str, *, follow: bool, create: bool) -> tuple[int, str]:
    """A descriptor of the folder holding ``rel``'s last component, and that component.

    The caller closes the descriptor. A link along the way (or at the end, when ``follow``)
    is resolved inside the root; without ``follow`` any link in a folder position raises.
    """
    fd, _, name = _walk_to(root_fd, rel, follow=follow, create=create)
    return fd, name


def _walk_to(root_fd: int, rel: str, *, follow: bool, create: bool) -> tuple[int, str, str]:
    """:func:`_walk`, plus the folder's path relative to the root (links resolved)."""
    pending = _parts(rel)
    if not pending:
        raise IsADirectoryError(errno.EISDIR, "the root itself", rel)
    done: list[str] = []
    fd = os.dup(root_fd)
    hops = 0
    try:
        while True:
            name = pending[0]
            if len(pending) == 1:
                target = _link_text(fd, name) if follow else None
                if target is None:
                    return fd, "/".join(done), name
            else:
                sub = _open_dir(fd, name, create)
                if sub is not None:
                    os.close(fd)
                    fd = sub
                    done.append(name)
                    pending.pop(0)
                    continue
                # Not a folder: a link (to follow or refuse), or a file in the way.
                target = _link_text(fd, name)
                if target is None:
                    raise NotADirectoryError(errno.ENOTDIR, "not a folder", rel)
                if not follow:
                    raise PathOutsideWorkspaceError(
                        rel, "the sandbox (a folder on the path is a symlink)")
            # ``name`` is a link to follow: restart from the root with its target spliced in.
            hops += 1
            here = "/".join(done)
            if hops > _MAX_LINKS or not link_stays_inside(posixpath.join(here, name), target):
                raise PathOutsideWorkspaceError(rel, "the sandbox (a symlink leads out of it)")
            pending = _parts(posixpath.join(here, target, *pending[1:]))
            if not pending:
                raise IsADirectoryError(errno.EISDIR, "the root itself", rel)
            os.close(fd)
            fd = os.dup(root_fd)
            done = []
    except BaseException:
        os.close(fd)
        raise


def _open_dir(dir_fd: int, name: str, create: bool) -> int | None:
    """A descriptor of the folder ``name`` (made if missing and ``create``); None when
    ``name`` is a link or not a folder. FileNotFoundError when missing."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return None
        raise
    os.mkdir(name, 0o777, dir_fd=dir_fd)
    return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _link_text(dir_fd: int, name: str) -> str | None:
    """The text of the link ``name`` in ``dir_fd``, None when it is not a link."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def read_entry(root: Path, rel: str) -> bytes | None:
    """What ``rel`` holds: a file's bytes, a link's text; None for nothing or a folder.

    Links are never followed; one in a folder position raises PathOutsideWorkspaceError.
    """
    with _root_fd(root) as top:
        try:
            fd, name = _walk(top, rel, follow=False, create=False)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        try:
            link = _link_text(fd, name)
            if link is not None:
                return os.fsencode(link)
            return _read_at(fd, name)
        finally:
            os.close(fd)


def _read_at(dir_fd: int, name: str) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                     dir_fd=dir_fd)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read()


def read_link(root: Path, rel: str) -> str:
    """The text of the symlink at ``rel`` (OSError if it is not one)."""
    with _root_fd(root) as top:
        fd, name = _walk(top, rel, follow=False, create=False)
        try:
            return os.readlink(name, dir_fd=fd)
        finally:
            os.close(fd)


def read_file(root: Path, rel: str) -> bytes:
    """A file's bytes, following links only while they stay inside ``root``.

    FileNotFoundError, IsADirectoryError as ``open`` would; PathOutsideWorkspaceError for a
    link leading out.
    """
    with _root_fd(root) as top:
        fd, name = _walk(top, rel, follow=True, create=False)
        try:
            data = _read_at(fd, name)
        finally:
            os.close(fd)
    if data is None:
        if _exists(root, rel):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", rel)
        raise FileNotFoundError(errno.ENOENT, "no such file", rel)
    return data


def _exists(root: Path, rel: str) -> bool:
    with _root_fd(root) as top:
        try:
            fd, name = _walk(top, rel, follow=True, create=False)
        except OSError:
            return False
        try:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)


def resolve(root: Path, rel: str) -> str:
    """Where ``rel`` leads inside ``root``, links followed only inside (missing folders are
    made); PathOutsideWorkspaceError for a link leading out. Check this path, not ``rel``,
    before writing: ``alias/x`` may be ``.git/x``."""
    with _root_fd(root) as top:
        fd, folder, name = _walk_to(top, rel, follow=True, create=True)
        os.close(fd)
    return posixpath.join(folder, name)


def write_file(root: Path, rel: str, data: bytes) -> None:
    """Replace (or create) the file at ``rel`` in one step, links followed only inside
    ``root``; missing folders are made. The file keeps its mode."""
    with _root_fd(root) as top:
        fd, name = _walk(top, rel, follow=True, create=True)
        try:
            try:
                mode = stat.S_IMODE(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            tmp = f".{name[:64]}.{os.getpid()}.{id(data):x}.yui-tmp"
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o600, dir_fd=fd)
            try:
                with os.fdopen(out, "wb") as fh:
                    fh.write(data)
                    os.fchmod(fh.fileno(), mode)
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=fd)
                raise
        finally:
            os.close(fd)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def remove_entry(root: Path, rel: str) -> None:
    """Remove ``rel`` (a file, link, or folder with all it holds) and then the folders above
    it that it left empty, without following any link. Missing is fine."""
    with _root_fd(root) as top:
        try:
            fd, name = _walk(top, rel, follow=False, create=False)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(name, dir_fd=fd)
            else:
                os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)
        # Folders that held only what was removed go too, as `git clean -d` would.
        parents = _parts(rel)[:-1]
        while parents:
            try:
                pfd, pname = _walk(top, "/".join(parents), follow=False, create=False)
            except OSError:
                return
            try:
                os.rmdir(pname, dir_fd=pfd)
            except OSError:
                return
            finally:
                os.close(pfd)
            parents.pop()


def resolve_dir(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that every component is a real folder (no link)."""
    with _root_fd(root) as top:
        fd, name = _walk(top, rel, follow=False, create=False)
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        finally:
            os.close(fd)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", rel)
    return Path(root) / rel
