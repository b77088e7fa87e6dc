"""What the file system a workspace lives on honours: flushes, locks, special files.

yui trusts a file system only with what it is known to honour. ``syncfs`` flushes a
whole file system where the kernel passes it down (local disk file systems); on NFS, SMB,
9p (WSL's Windows drives), virtiofs shares and FUSE it does not reach the server, so the
apply fsyncs every file and folder it changed there (see :class:`statedir.WriteBarrier`).
File locks (the lease table's ``filelock``) are shared by every process of one machine
everywhere, but between machines only where the file system's lock protocol works; on a
network file system yui refuses a second coordinator from another host instead of
trusting locks it cannot check.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

from yui_lsp.workspace.statedir import syncfs_supported

#: statfs(2) f_type magics worth a name (linux/magic.h).
_MAGIC_NAMES = {
    0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0xF2F52010: "f2fs",
    0x2FC12FC1: "zfs", 0xCA451A4E: "bcachefs", 0x01021994: "tmpfs", 0x794C7630: "overlay",
    0x6969: "nfs", 0xFF534D42: "cifs", 0xFE534D42: "smb2", 0x517B: "smb",
    0x65735546: "fuse", 0x01021997: "9p", 0x4D44: "vfat", 0x5346544E: "ntfs",
    0x7366746E: "ntfs3", 0x73717368: "squashfs", 0x786F4256: "vboxsf", 0x00C36400: "ceph",
    0x47504653: "gpfs", 0x0BD00BD0: "lustre", 0x5346414F: "afs", 0x6B414653: "afs",
}

#: Mount types whose locks and caches span machines: a lock taken on one host may not be
#: seen on another, so the lease table is trusted within one host only.
_NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb2", "smb3", "smb", "smbfs", "9p", "v9fs", "virtiofs",
    "vboxsf", "ceph", "glusterfs", "fuse.glusterfs", "lustre", "afs", "gpfs",
    "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse", "fuse.vmhgfs-fuse", "drvfs",
})


@dataclass(frozen=True)
class FileSystemInfo:
    """How yui will treat the file system holding one folder."""

    path: str
    mount_point: str
    type: str
    #: True when one syncfs(2) flushes it (else: fsync of each file and folder).
    syncfs: bool
    #: False on network file systems: locks are trusted between processes of one host only.
    locks_across_hosts: bool

    @property
    def flush(self) -> str:
        if self.syncfs:
            return "one syncfs(2) per apply step (the kernel passes it to this file system)"
        return ("fsync of every written file and changed folder (syncfs does not reach "
                f"{self.type})")

    @property
    def locks(self) -> str:
        if self.locks_across_hosts:
            return "shared by every process on this machine (filelock)"
        return (f"shared by every process on this machine; on {self.type} yui does not trust "
                "locks between machines and refuses a coordinator from another host")


def _statfs_type(path: str) -> int | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    buffer = ctypes.create_string_buffer(256)
    if libc.statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


def _unescape(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
    return field.encode().decode("unicode_escape") if "\\" in field else field


def _mount_of(path: str) -> tuple[str, str]:
    """(mount point, type) of the mount holding ``path``, from /proc/self/mountinfo."""
    best = ("/", "")
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return best
    for line in lines:
        before, _, after = line.partition(" - ")
        fields = before.split()
        if len(fields) < 5 or not after:
            continue
        point = _unescape(fields[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, after.split()[0])
    return best


def describe(folder: Path) -> FileSystemInfo:
    """What the file system holding ``folder`` honours."""
    real = os.path.realpath(folder)
    point, mount_type = _mount_of(real)
    magic = _statfs_type(real)
    name = mount_type or _MAGIC_NAMES.get(magic or -1, f"unknown (0x{magic or 0:x})")
    network = name in _NETWORK_TYPES or (
        magic is not None and _MAGIC_NAMES.get(magic) in _NETWORK_TYPES
    )
    return FileSystemInfo(path=real, mount_point=point, type=name,
                          syncfs=syncfs_supported(Path(real)), locks_across_hosts=not network)
