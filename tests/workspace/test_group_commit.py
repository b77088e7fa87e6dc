"""Group commit: applies flushing at once share syncfs calls, and every one of them still
gets a flush that began after its writes, and any write-back error."""

from __future__ import annotations

import errno
import threading
from pathlib import Path
from unittest import mock

import anyio
import pytest

from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import JournaledApplier, statedir
from yui_lsp.workspace.types import Integration, MergedFile


@pytest.fixture(autouse=True)
def trusted(tmp_path: Path) -> None:
    if not statedir.syncfs_supported(tmp_path):
        pytest.skip("syncfs(2) is not trusted on this filesystem: one fsync per file there")


def _wait_until(check: object) -> None:
    """Spin (yielding) until ``check()``: progress is proven by state, not by a clock."""
    assert callable(check)
    while not check():
        threading.Event().wait(0.001)


def test_flushes_arriving_during_a_syncfs_share_the_next_one(tmp_path: Path) -> None:
    release, calls = threading.Event(), []
    real = statedir.syncfs

    def slow_first(fd: int, folder: Path) -> None:
        calls.append(threading.get_ident())
        if len(calls) == 1:
            release.wait(60)
        real(fd, folder)

    followers = 5
    barriers = [statedir.WriteBarrier(tmp_path) for _ in range(followers + 1)]
    group, _ = barriers[0]._groups[next(iter(barriers[0]._groups))]
    with mock.patch.object(statedir, "syncfs", slow_first):
        leader = threading.Thread(target=barriers[0].flush, args=([], [tmp_path]))
        leader.start()
        _wait_until(lambda: len(calls) == 1)
        threads = [threading.Thread(target=b.flush, args=([], [tmp_path])) for b in barriers[1:]]
        for thread in threads:
            thread.start()
        _wait_until(lambda: group.waiting == followers)  # all parked behind the first syncfs
        release.set()
        for thread in [leader, *threads]:
            thread.join(60)
    for barrier in barriers:
        barrier.close()
    # The first syncfs began before the followers wrote: one more covers all five.
    assert len(calls) == 2
    assert statedir._GROUPS == {}  # the shared descriptor closes with its last barrier


def test_each_flush_begins_after_its_caller_arrived(tmp_path: Path) -> None:
    calls = []
    real = statedir.syncfs
    with mock.patch.object(statedir, "syncfs",
                           lambda fd, folder: (calls.append(fd), real(fd, folder))), \
            statedir.WriteBarrier(tmp_path) as barrier:
        for _ in range(3):
            barrier.flush([], [tmp_path])
    assert len(calls) == 3  # nothing in flight: never served by an earlier flush


def test_a_failed_flush_fails_every_barrier_it_covered(tmp_path: Path) -> None:
    bystander = statedir.WriteBarrier(tmp_path)  # opened before the failing flush
    try:
        with mock.patch.object(statedir, "syncfs",
                               side_effect=OSError(errno.EIO, "Input/output error")), \
                statedir.WriteBarrier(tmp_path) as failing, pytest.raises(OSError) as caught:
            failing.flush([], [tmp_path])
        assert caught.value.errno == errno.EIO
        # Its writes may have been lost in that write-back too, though another led the flush.
        with pytest.raises(OSError, match="Input/output error"):
            bystander.flush([], [tmp_path])
    finally:
        bystander.close()
    with statedir.WriteBarrier(tmp_path) as later:
        later.flush([], [tmp_path])  # opened after the failure: not its error


async def test_concurrent_applies_land_whole_and_share_flushes(tmp_path: Path) -> None:
    tasks, per_task = 6, 40
    for t in range(tasks):
        for i in range(per_task):
            (tmp_path / f"d{t}").mkdir(exist_ok=True)
            (tmp_path / f"d{t}/f{i}.txt").write_bytes(b"old\n")
    applier = JournaledApplier(tmp_path, retention=10)
    calls = []
    real = statedir.syncfs
    start = threading.Barrier(tasks)

    def apply(t: int) -> list[str]:
        files = [MergedFile(path=f"d{t}/f{i}.txt", kind=ChangeKind.MODIFY,
                            content=f"new {t}\n".encode(), expected=b"old\n")
                 for i in range(per_task)]
        start.wait(60)
        return applier.apply_sync(f"t{t}", Integration(task_id=f"t{t}", files=files))

    with mock.patch.object(statedir, "syncfs",
                           lambda fd, folder: (calls.append(fd), real(fd, folder))):
        async with anyio.create_task_group() as group:
            for t in range(tasks):
                group.start_soon(anyio.to_thread.run_sync, apply, t)
    for t in range(tasks):
        for i in range(per_task):
            assert (tmp_path / f"d{t}/f{i}.txt").read_bytes() == f"new {t}\n".encode()
        assert (tmp_path / f".yui/backups/t{t}/committed").exists()
    assert len(calls) <= 4 * tasks  # never more than one syncfs per flush request
    assert statedir._GROUPS == {}

