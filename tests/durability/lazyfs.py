"""A FUSE file system that loses what was not flushed, for power-cut tests (after LazyFS).

The whole tree lives in memory twice: the *current* state every process sees, and the
*durable* state a disk would hold after a power cut. The usual POSIX model moves changes
from one to the other:

- ``fsync(file)`` makes that file's data and mode durable (not its name);
- ``fsync(dir)`` makes that folder's entries durable (creates, renames, unlinks in it);
  a newly named file whose data was never flushed comes back empty; a rename is one unit
  (as in a journaling file system's transaction): flushing either of its folders makes
  both of its sides durable, so a file is never lost between two names;
- nothing else does. ``sync``/``syncfs`` do not reach a FUSE server on Linux (only
  virtiofs gets them), so they persist nothing here — exactly what a program that relies
  on them would meet on such a mount.

A *power cut* happens before the N-th changing operation (``--cut-at N``, counting
creates, writes, truncates, renames, unlinks, links, mkdir/rmdir, chmod, utimens, fsync and
fsyncdir): the durable state at that moment is written to ``--image`` and every later
operation fails with EIO. With ``--reorder`` the cut also keeps a random subset of the
unflushed changes — folder-entry operations (each one atomic, in any subset), whole file
contents or a torn prefix of one — as a disk that reorders writes would. Without a cut,
unmounting writes the durable state as it is then: a power cut right after the last
operation.

Sockets, FIFOs and device nodes cannot be created (no ``mknod``), as on many network and
FUSE file systems.

Run: ``python tests/durability/lazyfs.py BACKING MOUNTPOINT --image OUT [--cut-at N]
[--seed S] [--reorder] [--stats FILE]``; it serves in the foreground until unmounted.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mfusepy as fuse

ROOT_INO = 1


@dataclass
class Node:
    """One inode: a regular file, a folder or a symlink."""

    mode: int
    data: bytearray = field(default_factory=bytearray)
    entries: dict[str, int] = field(default_factory=dict)
    target: str = ""
    uid: int = 0
    gid: int = 0
    mtime_ns: int = 0
    nlink: int = 1

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    def durable_copy(self) -> Node:
        return Node(self.mode, bytearray(self.data), dict(self.entries), self.target,
                    self.uid, self.gid, self.mtime_ns, self.nlink)


class CutError(Exception):
    """Raised inside an operation once the power is cut."""


class LazyFS(fuse.Operations):  # type: ignore[misc]
    """The two-state file system; see the module docstring."""

    use_ns = True

    def __init__(self, backing: Path, image: Path, cut_at: int | None, seed: int,
                 reorder: bool) -> None:
        self.image = image
        self.cut_at = cut_at
        self.rng = random.Random(seed)
        self.reorder = reorder
        self.ops = 0
        self.counts: dict[str, int] = {}
        #: (operation, path) of every changing operation, in order.
        self.trace: list[tuple[str, str]] = []
        self.cut = False
        self._mutex = threading.RLock()
        self.nodes: dict[int, Node] = {}
        self.durable: dict[int, Node] = {}
        self.next_ino = ROOT_INO
        self.handles: dict[int, int] = {}
        # Folder-entry operations not yet made durable by an fsync of their folder, in order:
        # ("add", dir, name, ino), ("del", dir, name, ino), ("ren", dir, name, dir2, name2, ino)
        self.pending: list[tuple[Any, ...]] = []
        self.next_fh = 1
        self._load(backing)
        self.durable = {ino: node.durable_copy() for ino, node in self.nodes.items()}

    # ------------------------------------------------------------------ loading / image

    def _new(self, node: Node) -> int:
        ino = self.next_ino
        self.next_ino += 1
        node.mtime_ns = node.mtime_ns or time.time_ns()
        self.nodes[ino] = node
        return ino

    def _load(self, folder: Path) -> None:
        info = folder.lstat()
        root = self._new(Node(info.st_mode, uid=info.st_uid, gid=info.st_gid,
                              mtime_ns=info.st_mtime_ns, nlink=2))
        self._load_into(folder, root)

    def _load_into(self, folder: Path, parent: int) -> None:
        seen: dict[tuple[int, int], int] = {}
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            key = (info.st_dev, info.st_ino)
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 and key in seen:
                ino = seen[key]
                self.nodes[ino].nlink += 1
            elif stat.S_ISDIR(info.st_mode):
                ino = self._new(Node(info.st_mode, uid=info.st_uid, gid=info.st_gid,
                                     mtime_ns=info.st_mtime_ns, nlink=2))
                self._load_into(Path(entry.path), ino)
            elif stat.S_ISLNK(info.st_mode):
                ino = self._new(Node(info.st_mode, target=os.readlink(entry.path),
                                     uid=info.st_uid, gid=info.st_gid,
                                     mtime_ns=info.st_mtime_ns))
            else:
                ino = self._new(Node(info.st_mode, bytearray(Path(entry.path).read_bytes()),
                                     uid=info.st_uid, gid=info.st_gid,
                                     mtime_ns=info.st_mtime_ns))
                seen[key] = ino
            self.nodes[parent].entries[entry.name] = ino

    def _cut_state(self) -> dict[int, Node]:
        """The durable state, plus a random subset of pending changes when reordering.

        Each folder-entry operation is atomic (a rename moves its name in one step, as every
        journaling file system does); which of them, and which files' unflushed data, reach
        the disk is random.
        """
        state = {ino: node.durable_copy() for ino, node in self.durable.items()}
        if not self.reorder:
            return state
        for op in self.pending:
            if self.rng.random() < 0.5:
                self._replay(state, op)
        for ino, node in self.nodes.items():
            old = state.get(ino)
            if node.is_dir or old is None or (old.data == node.data and old.mode == node.mode):
                continue
            roll = self.rng.random()
            if roll < 0.35:
                old.data, old.mode = bytearray(node.data), node.mode
            elif roll < 0.5 and node.data:
                old.data = bytearray(node.data[: self.rng.randrange(len(node.data))])
        return state

    def _replay(self, state: dict[int, Node], op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind in ("del", "ren"):
            folder = self._node_for(state, op[1])
            if folder.entries.get(op[2]) == op[-1]:
                del folder.entries[op[2]]
        if kind == "add":
            self._node_for(state, op[1]).entries[op[2]] = op[3]
        elif kind == "ren":
            self._node_for(state, op[3]).entries[op[4]] = op[5]

    def _log(self, *op: Any) -> None:
        self.pending.append(op)

    def _flushed(self, folder: int) -> None:
        """Make every pending entry operation touching ``folder`` durable, whole.

        A rename is one unit, as in a journaling file system's transaction: flushing either
        of its folders makes both of its sides durable, so a file is never lost between two
        names.
        """
        kept: list[tuple[Any, ...]] = []
        for op in self.pending:
            touches = op[1] == folder or (op[0] == "ren" and op[3] == folder)
            if touches:
                self._replay(self.durable, op)
            else:
                kept.append(op)
        self.pending = kept

    def write_image(self, state: dict[int, Node]) -> None:
        """Write ``state`` out as a folder tree at ``self.image``."""
        self.image.mkdir(parents=True, exist_ok=True)
        written: dict[int, Path] = {}
        self._write_folder(state, ROOT_INO, self.image, written, {ROOT_INO})
        root = state[ROOT_INO]
        os.chmod(self.image, stat.S_IMODE(root.mode))

    def _node_for(self, state: dict[int, Node], ino: int) -> Node:
        node = state.get(ino)
        if node is None:  # named durably, but its content never flushed
            current = self.nodes[ino]
            node = Node(current.mode, bytearray(), {}, current.target, current.uid,
                        current.gid, current.mtime_ns)
            state[ino] = node
        return node

    def _write_folder(self, state: dict[int, Node], ino: int, path: Path,
                      written: dict[int, Path], folders: set[int]) -> None:
        for name, child in sorted(state[ino].entries.items()):
            node = self._node_for(state, child)
            target = path / name
            if node.is_dir:
                if child in folders:
                    continue  # a folder durably named twice keeps its first name
                folders.add(child)
                target.mkdir()
                self._write_folder(state, child, target, written, folders)
                os.chmod(target, stat.S_IMODE(node.mode))
            elif stat.S_ISLNK(node.mode):
                os.symlink(node.target, target)
            elif child in written:
                os.link(written[child], target)
            else:
                target.write_bytes(bytes(node.data))
                os.chmod(target, stat.S_IMODE(node.mode))
                written[child] = target
            if not stat.S_ISLNK(node.mode):
                os.utime(target, ns=(node.mtime_ns, node.mtime_ns))

    # ------------------------------------------------------------------ bookkeeping

    def _change(self, name: str, path: str) -> None:
        """Count a changing operation; cut the power before the ``cut_at``-th."""
        if self.cut:
            raise fuse.FuseOSError(errno.EIO)
        self.ops += 1
        self.counts[name] = self.counts.get(name, 0) + 1
        self.trace.append((name, path))
        if self.cut_at is not None and self.ops >= self.cut_at:
            self.cut = True
            self.write_image(self._cut_state())
            raise fuse.FuseOSError(errno.EIO)

    def _lookup(self, path: str) -> int:
        if self.cut:
            raise fuse.FuseOSError(errno.EIO)
        ino = ROOT_INO
        for part in path.split("/"):
            if not part:
                continue
            node = self.nodes[ino]
            if not node.is_dir:
                raise fuse.FuseOSError(errno.ENOTDIR)
            found = node.entries.get(part)
            if found is None:
                raise fuse.FuseOSError(errno.ENOENT)
            ino = found
        return ino

    def _parent(self, path: str) -> tuple[int, str]:
        head, _, name = path.rstrip("/").rpartition("/")
        parent = self._lookup(head or "/")
        if not self.nodes[parent].is_dir:
            raise fuse.FuseOSError(errno.ENOTDIR)
        if len(name.encode("utf-8", "surrogateescape")) > 255:
            raise fuse.FuseOSError(errno.ENAMETOOLONG)
        return parent, name

    def _ino(self, path: str, fh: int | None) -> int:
        if fh and fh in self.handles:
            if self.cut:
                raise fuse.FuseOSError(errno.EIO)
            return self.handles[fh]
        return self._lookup(path)

    def _touch(self, *inos: int) -> None:
        now = time.time_ns()
        for ino in inos:
            self.nodes[ino].mtime_ns = now

    def _open_handle(self, ino: int) -> int:
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = ino
        return fh

    def _context(self) -> tuple[int, int]:
        uid, gid, _pid = fuse.fuse_get_context()
        return uid, gid

    # ------------------------------------------------------------------ reading

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        with self._mutex:
            ino = self._ino(path, fh)
            node = self.nodes[ino]
            size = len(node.target.encode()) if stat.S_ISLNK(node.mode) else len(node.data)
            return {"st_mode": node.mode, "st_ino": ino, "st_nlink": node.nlink,
                    "st_uid": node.uid, "st_gid": node.gid, "st_size": size,
                    "st_atime": node.mtime_ns, "st_mtime": node.mtime_ns,
                    "st_ctime": node.mtime_ns, "st_blocks": (size + 511) // 512,
                    "st_blksize": 4096}

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        with self._mutex:
            ino = self._lookup(path)
            node = self.nodes[ino]
            # Entries carry their inode: a zero d_ino makes readdir(3) skip the entry.
            return [(".", {"st_mode": node.mode, "st_ino": ino}, 0),
                    ("..", {"st_mode": stat.S_IFDIR, "st_ino": ROOT_INO}, 0),
                    *((name, {"st_mode": self.nodes[child].mode, "st_ino": child}, 0)
                      for name, child in node.entries.items())]

    def readlink(self, path: str) -> str:
        with self._mutex:
            return self.nodes[self._lookup(path)].target

    def open(self, path: str, flags: int) -> int:
        with self._mutex:
            ino = self._lookup(path)
            if flags & os.O_TRUNC:
                self._change("truncate", path)
                self.nodes[ino].data = bytearray()
                self._touch(ino)
            return self._open_handle(ino)

    def opendir(self, path: str) -> int:
        with self._mutex:
            return self._open_handle(self._lookup(path))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        with self._mutex:
            return bytes(self.nodes[self._ino(path, fh)].data[offset: offset + size])

    def release(self, path: str, fh: int) -> int:
        with self._mutex:
            self.handles.pop(fh, None)
            return 0

    def releasedir(self, path: str, fh: int) -> int:
        return self.release(path, fh)

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 1 << 20, "f_bfree": 1 << 19,
                "f_bavail": 1 << 19, "f_files": 1 << 20, "f_ffree": 1 << 19,
                "f_favail": 1 << 19, "f_namemax": 255}

    # ------------------------------------------------------------------ changing

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        with self._mutex:
            parent, name = self._parent(path)
            existing = self.nodes[parent].entries.get(name)
            if existing is not None:
                return self._open_handle(existing)
            self._change("create", path)
            uid, gid = self._context()
            ino = self._new(Node(stat.S_IFREG | stat.S_IMODE(mode), uid=uid, gid=gid))
            self.nodes[parent].entries[name] = ino
            self._log("add", parent, name, ino)
            self._touch(parent)
            return self._open_handle(ino)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        with self._mutex:
            ino = self._ino(path, fh)
            self._change("write", path)
            buf = self.nodes[ino].data
            if len(buf) < offset:
                buf.extend(b"\0" * (offset - len(buf)))
            buf[offset: offset + len(data)] = data
            self._touch(ino)
            return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        with self._mutex:
            ino = self._ino(path, fh)
            self._change("truncate", path)
            buf = self.nodes[ino].data
            del buf[length:]
            buf.extend(b"\0" * (length - len(buf)))
            self._touch(ino)
            return 0

    def mkdir(self, path: str, mode: int) -> int:
        with self._mutex:
            parent, name = self._parent(path)
            if name in self.nodes[parent].entries:
                raise fuse.FuseOSError(errno.EEXIST)
            self._change("mkdir", path)
            uid, gid = self._context()
            ino = self._new(Node(stat.S_IFDIR | stat.S_IMODE(mode), uid=uid, gid=gid, nlink=2))
            self.nodes[parent].entries[name] = ino
            self._log("add", parent, name, ino)
            self._touch(parent)
            return 0

    def symlink(self, target: str, source: str) -> int:
        with self._mutex:
            parent, name = self._parent(target)
            if name in self.nodes[parent].entries:
                raise fuse.FuseOSError(errno.EEXIST)
            self._change("symlink", target)
            uid, gid = self._context()
            ino = self._new(Node(stat.S_IFLNK | 0o777, target=source, uid=uid, gid=gid))
            self.nodes[parent].entries[name] = ino
            self._log("add", parent, name, ino)
            self._touch(parent)
            return 0

    def link(self, target: str, source: str) -> int:
        with self._mutex:
            ino = self._lookup(source)
            if self.nodes[ino].is_dir:
                raise fuse.FuseOSError(errno.EPERM)
            parent, name = self._parent(target)
            if name in self.nodes[parent].entries:
                raise fuse.FuseOSError(errno.EEXIST)
            self._change("link", target)
            self.nodes[parent].entries[name] = ino
            self._log("add", parent, name, ino)
            self.nodes[ino].nlink += 1
            self._touch(parent)
            return 0

    def unlink(self, path: str) -> int:
        with self._mutex:
            parent, name = self._parent(path)
            ino = self.nodes[parent].entries.get(name)
            if ino is None:
                raise fuse.FuseOSError(errno.ENOENT)
            if self.nodes[ino].is_dir:
                raise fuse.FuseOSError(errno.EISDIR)
            self._change("unlink", path)
            del self.nodes[parent].entries[name]
            self._log("del", parent, name, ino)
            self.nodes[ino].nlink -= 1
            self._touch(parent)
            return 0

    def rmdir(self, path: str) -> int:
        with self._mutex:
            parent, name = self._parent(path)
            ino = self.nodes[parent].entries.get(name)
            if ino is None:
                raise fuse.FuseOSError(errno.ENOENT)
            if not self.nodes[ino].is_dir:
                raise fuse.FuseOSError(errno.ENOTDIR)
            if self.nodes[ino].entries:
                raise fuse.FuseOSError(errno.ENOTEMPTY)
            self._change("rmdir", path)
            del self.nodes[parent].entries[name]
            self._log("del", parent, name, ino)
            self._touch(parent)
            return 0

    def rename(self, old: str, new: str) -> int:
        with self._mutex:
            old_parent, old_name = self._parent(old)
            new_parent, new_name = self._parent(new)
            ino = self.nodes[old_parent].entries.get(old_name)
            if ino is None:
                raise fuse.FuseOSError(errno.ENOENT)
            replaced = self.nodes[new_parent].entries.get(new_name)
            if replaced == ino:
                return 0
            if replaced is not None:
                moving_dir = self.nodes[ino].is_dir
                if self.nodes[replaced].is_dir != moving_dir:
                    raise fuse.FuseOSError(errno.EISDIR if not moving_dir else errno.ENOTDIR)
                if moving_dir and self.nodes[replaced].entries:
                    raise fuse.FuseOSError(errno.ENOTEMPTY)
            self._change("rename", f"{old} -> {new}")
            del self.nodes[old_parent].entries[old_name]
            self.nodes[new_parent].entries[new_name] = ino
            self._log("ren", old_parent, old_name, new_parent, new_name, ino)
            if replaced is not None:
                self.nodes[replaced].nlink -= 1
            self._touch(old_parent, new_parent)
            return 0

    def chmod(self, path: str, mode: int) -> int:
        with self._mutex:
            ino = self._lookup(path)
            self._change("chmod", path)
            node = self.nodes[ino]
            node.mode = stat.S_IFMT(node.mode) | stat.S_IMODE(mode)
            return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        with self._mutex:
            ino = self._lookup(path)
            self._change("chown", path)
            node = self.nodes[ino]
            if uid != -1 and uid != 0xFFFFFFFF:
                node.uid = uid
            if gid != -1 and gid != 0xFFFFFFFF:
                node.gid = gid
            return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        with self._mutex:
            ino = self._lookup(path)
            self._change("utimens", path)
            self.nodes[ino].mtime_ns = times[1] if times else time.time_ns()
            return 0

    # ------------------------------------------------------------------ flushing

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        with self._mutex:
            ino = self._ino(path, fh)
            self._change("fsync", path)
            node = self.nodes[ino]
            kept = self.durable.get(ino)
            copy = node.durable_copy()
            # A file's fsync persists its data and inode, not folder entries.
            copy.entries = dict(kept.entries) if kept is not None else {}
            self.durable[ino] = copy
            return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        with self._mutex:
            ino = self._ino(path, fh)
            self._change("fsyncdir", path)
            node = self.nodes[ino]
            self._flushed(ino)
            copy = self._node_for(self.durable, ino)
            copy.entries = dict(node.entries)
            copy.mode, copy.mtime_ns = node.mode, node.mtime_ns
            return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def destroy(self, path: str) -> None:
        with self._mutex:
            if not self.cut:
                self.write_image(self._cut_state())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backing", type=Path)
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--cut-at", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reorder", action="store_true")
    parser.add_argument("--stats", type=Path, help="write operation counts here on exit")
    args = parser.parse_args(argv)
    fs = LazyFS(args.backing, args.image, args.cut_at, args.seed, args.reorder)
    try:
        fuse.FUSE(fs, str(args.mountpoint), foreground=True, nothreads=True, use_ino=True,
                  fsname="lazyfs", subtype="lazyfs", attr_timeout=0, entry_timeout=0,
                  negative_timeout=0)
    finally:
        if args.stats is not None:
            args.stats.write_text(json.dumps({"ops": fs.ops, "cut": fs.cut,
                                              "counts": fs.counts, "trace": fs.trace}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
