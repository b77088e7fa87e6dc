"""Mounting and unmounting the power-cut file system (tests/durability/lazyfs.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LAZYFS = Path(__file__).with_name("lazyfs.py")


def fuse_available() -> str | None:
    """None when a FUSE mount can be made here, else why not."""
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:  # mfusepy raises OSError when libfuse is missing
        return f"mfusepy/libfuse unavailable: {exc}"
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        return "not root and no fusermount3"
    return None


@dataclass
class Mount:
    """A running lazyfs mount; ``stats`` is filled in when it is unmounted."""

    mountpoint: Path
    image: Path
    process: subprocess.Popen[bytes]
    stats: dict[str, object] = field(default_factory=dict)


def _unmount(mountpoint: Path) -> None:
    for command in (["fusermount3", "-u", "-z", str(mountpoint)],
                    ["umount", "-l", str(mountpoint)]):
        if shutil.which(command[0]) is None:
            continue
        if subprocess.run(command, capture_output=True).returncode == 0:
            return


@contextmanager
def mounted(backing: Path, mountpoint: Path, image: Path, *, cut_at: int | None = None,
            seed: int = 0, reorder: bool = False, timeout: float = 30.0) -> Iterator[Mount]:
    """Serve ``backing`` at ``mountpoint`` until the block ends, then write ``image``."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    stats = mountpoint.with_name(mountpoint.name + ".stats.json")
    stats.unlink(missing_ok=True)
    command = [sys.executable, str(LAZYFS), str(backing), str(mountpoint), "--image",
               str(image), "--seed", str(seed), "--stats", str(stats)]
    if cut_at is not None:
        command += ["--cut-at", str(cut_at)]
    if reorder:
        command.append("--reorder")
    log = mountpoint.with_name(mountpoint.name + ".log")
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    mount = Mount(mountpoint, image, process)
    try:
        end = time.monotonic() + timeout
        while not os.path.ismount(mountpoint):
            if process.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"lazyfs did not mount: {log.read_text(errors='replace')}")
            time.sleep(0.02)
        yield mount
    finally:
        _unmount(mountpoint)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if stats.exists():
            mount.stats = json.loads(stats.read_text())
