"""The power-cut file system itself: what survives a cut is exactly what was flushed."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
from pathlib import Path

import pytest
from mount import mounted

from yui_lsp.workspace.statedir import WriteBarrier, syncfs_supported


def _write(path: Path, data: bytes, *, sync: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@pytest.fixture
def backing(tmp_path: Path) -> Path:
    folder = tmp_path / "backing"
    (folder / "sub").mkdir(parents=True)
    (folder / "kept.txt").write_bytes(b"kept\n")
    (folder / "sub" / "old.txt").write_bytes(b"old\n")
    return folder


def test_unflushed_writes_are_gone_after_a_cut(backing: Path, tmp_path: Path) -> None:
    image = tmp_path / "image"
    with mounted(backing, tmp_path / "mnt", image) as mount:
        _write(mount.mountpoint / "new.txt", b"never flushed")
        _write(mount.mountpoint / "kept.txt", b"rewritten, not flushed")
        assert (mount.mountpoint / "new.txt").read_bytes() == b"never flushed"
    assert not (image / "new.txt").exists()
    assert (image / "kept.txt").read_bytes() == b"kept\n"
    assert (image / "sub" / "old.txt").read_bytes() == b"old\n"


def test_fsynced_data_survives_but_its_new_name_needs_the_folder_flushed(
    backing: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "image1", tmp_path / "image2"
    with mounted(backing, tmp_path / "mnt1", first) as mount:
        _write(mount.mountpoint / "data.txt", b"synced data", sync=True)
        _write(mount.mountpoint / "kept.txt", b"synced in place", sync=True)
    assert not (first / "data.txt").exists()  # the name was never flushed
    assert (first / "kept.txt").read_bytes() == b"synced in place"
    with mounted(backing, tmp_path / "mnt2", second) as mount:
        _write(mount.mountpoint / "data.txt", b"synced data", sync=True)
        _fsync_dir(mount.mountpoint)
        _write(mount.mountpoint / "named.txt", b"unsynced data")
        _fsync_dir(mount.mountpoint)
    assert (second / "data.txt").read_bytes() == b"synced data"
    assert (second / "named.txt").read_bytes() == b""  # named durably, data never flushed


def test_a_rename_is_durable_once_one_of_its_folders_is_flushed(
    backing: Path, tmp_path: Path
) -> None:
    image = tmp_path / "image"
    with mounted(backing, tmp_path / "mnt", image) as mount:
        root = mount.mountpoint
        os.rename(root / "sub" / "old.txt", root / "moved.txt")
        os.mkdir(root / "other")
        os.rename(root / "kept.txt", root / "other" / "kept.txt")
        _fsync_dir(root / "sub")  # one side of the first rename only
    # The first rename is whole (both sides); the second, never flushed, is lost.
    assert (image / "moved.txt").read_bytes() == b"old\n"
    assert not (image / "sub" / "old.txt").exists()
    assert (image / "kept.txt").read_bytes() == b"kept\n"
    assert not (image / "other").exists()


def test_sync_and_syncfs_do_not_reach_the_file_system(backing: Path, tmp_path: Path) -> None:
    """Linux passes syncfs only to virtiofs: on a FUSE mount it persists nothing."""
    image = tmp_path / "image"
    libc = ctypes.CDLL(None, use_errno=True)
    with mounted(backing, tmp_path / "mnt", image) as mount:
        _write(mount.mountpoint / "new.txt", b"data")
        os.sync()
        fd = os.open(mount.mountpoint, os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert libc.syncfs(fd) == 0
        finally:
            os.close(fd)
        # So yui does not trust syncfs there, and its barrier fsyncs each file and folder.
        assert not syncfs_supported(mount.mountpoint)
        sub = mount.mountpoint / "sub"
        _write(sub / "barrier.txt", b"flushed by yui")
        with WriteBarrier(sub) as barrier:
            barrier.flush([sub / "barrier.txt"], [sub])
        assert mount.process.poll() is None
    assert not (image / "new.txt").exists()
    assert (image / "sub" / "barrier.txt").read_bytes() == b"flushed by yui"


def test_a_cut_freezes_the_disk_and_fails_every_later_operation(
    backing: Path, tmp_path: Path
) -> None:
    image = tmp_path / "image"
    with mounted(backing, tmp_path / "mnt", image, cut_at=3) as mount:
        root = mount.mountpoint
        _write(root / "a.txt", b"a")  # ops 1 (create) and 2 (write)
        assert not image.exists()
        with pytest.raises(OSError) as failed:
            _write(root / "b.txt", b"b")  # op 3: the power goes first
        assert failed.value.errno == errno.EIO
        assert image.exists()
        with pytest.raises(OSError) as again:
            (root / "kept.txt").read_bytes()
        assert again.value.errno == errno.EIO
    assert mount.stats["cut"] is True
    assert not (image / "a.txt").exists()
    assert (image / "kept.txt").read_bytes() == b"kept\n"


def test_no_sockets_can_be_made_there(backing: Path, tmp_path: Path) -> None:
    with mounted(backing, tmp_path / "mnt", tmp_path / "image") as mount:
        listener = socket.socket(socket.AF_UNIX)
        try:
            with pytest.raises(OSError) as failed:
                listener.bind(str(mount.mountpoint / "control.sock"))
        finally:
            listener.close()
        assert failed.value.errno == errno.ENOSYS


@pytest.mark.parametrize("seed", range(6))
def test_reordering_never_loses_a_renamed_file(
    backing: Path, tmp_path: Path, seed: int
) -> None:
    image = tmp_path / "image"
    with mounted(backing, tmp_path / "mnt", image, seed=seed, reorder=True) as mount:
        root = mount.mountpoint
        _write(root / "sub" / "new.txt", b"new", sync=True)
        _fsync_dir(root / "sub")
        os.rename(root / "sub" / "new.txt", root / "final.txt")
        os.rename(root / "kept.txt", root / "sub" / "renamed.txt")
    names = {p.relative_to(image).as_posix() for p in image.rglob("*.txt")}
    # Each rename is atomic: the file is under its old name or its new one, never neither.
    assert names & {"sub/new.txt", "final.txt"}
    assert names & {"kept.txt", "sub/renamed.txt"}
    assert len(names & {"sub/new.txt", "final.txt"}) == 1
