"""Atomic apply: every file whole-old or whole-new, through write errors and crashes."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workspace.conftest import write
from yui_lsp.errors import ApplyError, YuiError
from yui_lsp.protocol import ChangeKind, Task
from yui_lsp.workspace import (
    DiskReader,
    Integration,
    JournaledApplier,
    MergedFile,
    StaleContentError,
    recover,
    statedir,
    undo,
)

Files = dict[str, bytes | None]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root except yui's and git's state."""
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in (".yui", ".git") or path.is_dir():
            continue
        out[rel] = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return out


def leftovers(root: Path) -> list[str]:
    """Temp files and unfinished journals an apply must never leave behind."""
    temps = [p.name for p in root.rglob("*.tmp") if ".yui-" in p.name]
    journal = root / ".yui" / "journal"
    return temps + ([p.name for p in journal.iterdir()] if journal.exists() else [])


def result(root: Path, task_id: str, new: Files, **modes: int) -> Integration:
    reader = DiskReader(root)
    files = []
    for rel, content in new.items():
        now = reader.read(rel)
        kind = (ChangeKind.DELETE if content is None
                else ChangeKind.CREATE if now is None else ChangeKind.MODIFY)
        files.append(MergedFile(path=rel, kind=kind, content=content, expected=now,
                                mode=modes.get(rel.replace("/", "_").replace(".", "_"))))
    return Integration(task_id=task_id, files=files)


def expected_after(before: dict[str, bytes], new: Files) -> dict[str, bytes]:
    after = dict(before)
    for rel, content in new.items():
        if content is None:
            after.pop(rel, None)
        else:
            after[rel] = content
    return after


@pytest.fixture(params=["syncfs", "fsync"])
def durability(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> str:
    """Both ways of flushing: one syncfs per filesystem, or an fsync per file and folder."""
    if request.param == "fsync":
        monkeypatch.setattr(statedir, "_device_has_syncfs", lambda device, folder: False)
    elif not statedir.syncfs_supported(tmp_path):
        pytest.skip("syncfs(2) is not trusted on this filesystem")
    return str(request.param)


async def test_apply_writes_everything_and_keeps_a_backup(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "gone.txt": "bye\n", "old/name.txt": "moved\n"})
    integration = result(tmp_path, "t1", {"a.txt": b"A\n", "gone.txt": None,
                                          "deep/new/b.sh": b"#!/bin/sh\n"},
                         deep_new_b_sh=0o100755)
    integration.files.append(MergedFile(path="new/name.txt", kind=ChangeKind.RENAME,
                                        content=b"moved\n", expected=b"moved\n",
                                        old_path="old/name.txt"))
    written = await JournaledApplier(tmp_path, retention=3).apply(Task(id="t1"), integration)
    assert sorted(written) == ["a.txt", "deep/new/b.sh", "gone.txt", "new/name.txt"]
    assert snapshot(tmp_path) == {"a.txt": b"A\n", "deep/new/b.sh": b"#!/bin/sh\n",
                                  "new/name.txt": b"moved\n"}
    assert os.stat(tmp_path / "deep/new/b.sh").st_mode & stat.S_IXUSR
    assert leftovers(tmp_path) == []
    assert (tmp_path / ".yui/backups/t1/manifest.json").exists()


def test_stale_file_aborts_before_anything_is_written(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    integration = result(tmp_path, "t", {"a.txt": b"A\n", "b.txt": b"B\n"})
    write(tmp_path, {"b.txt": "the user typed\n"})
    with pytest.raises(StaleContentError) as caught:
        JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    assert caught.value.path == "b.txt"
    assert snapshot(tmp_path) == {"a.txt": b"a\n", "b.txt": b"the user typed\n"}
    assert leftovers(tmp_path) == []


def test_read_only_target_is_an_apply_error_and_nothing_changes(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "locked/b.txt": "b\n"})
    os.chmod(tmp_path / "locked", 0o555)
    try:
        integration = result(tmp_path, "t", {"a.txt": b"A\n", "locked/c.txt": b"C\n"})
        with pytest.raises(ApplyError, match="locked"):
            JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert snapshot(tmp_path) == {"a.txt": b"a\n", "locked/b.txt": b"b\n"}


def test_read_only_file_is_an_apply_error(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "ro.txt": "ro\n"})
    os.chmod(tmp_path / "ro.txt", 0o444)
    integration = result(tmp_path, "t", {"a.txt": b"A\n", "ro.txt": b"RO\n"})
    with pytest.raises(ApplyError, match=r"ro\.txt is read-only"):
        JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    assert snapshot(tmp_path) == {"a.txt": b"a\n", "ro.txt": b"ro\n"}
    assert leftovers(tmp_path) == []


def _failing_after(real: object, calls: int, error: int) -> object:
    count = 0

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal count
        count += 1
        if count == calls:
            raise OSError(error, os.strerror(error), str(args[0]))
        return real(*args, **kwargs)  # type: ignore[operator]

    return failing


def test_disk_full_while_staging_leaves_every_file_old(tmp_path: Path, durability: str) -> None:
    before = {f"f{i}.txt": f"old {i}\n".encode() for i in range(5)}
    write(tmp_path, dict(before))
    integration = result(tmp_path, "t", {rel: b"new\n" for rel in before})
    # The journal is one pack file; each new content is then written to a temp file next to
    # its target: the disk fills up in the middle of those.
    full_disk = mock.patch("os.write", _failing_after(os.write, 3, errno.ENOSPC))
    with full_disk, pytest.raises(ApplyError, match="result failed: No space left"):
        JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    assert snapshot(tmp_path) == before and leftovers(tmp_path) == []


def test_write_error_reported_by_the_flush_leaves_every_file_old(tmp_path: Path,
                                                                durability: str) -> None:
    before = {f"f{i}.txt": f"old {i}\n".encode() for i in range(5)}
    write(tmp_path, dict(before))
    integration = result(tmp_path, "t", {rel: b"new\n" for rel in before})
    # Flush 1 records the journal; flush 2, after staging, is where the kernel reports
    # that writing the temp files back to the disk failed.
    broken_disk = mock.patch.object(statedir.WriteBarrier, "flush", _failing_after(
        statedir.WriteBarrier.flush, 2, errno.EIO))
    with broken_disk, pytest.raises(ApplyError, match="result failed: Input/output error"):
        JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    assert snapshot(tmp_path) == before and leftovers(tmp_path) == []


def test_failure_while_replacing_rolls_back_the_files_already_replaced(tmp_path: Path,
                                                                      durability: str) -> None:
    before = {f"f{i}.txt": f"old {i}\n".encode() for i in range(5)}
    write(tmp_path, dict(before))
    integration = result(tmp_path, "t", {rel: b"new\n" for rel in before})
    # replace 1 is the manifest; 2-3 land two files; the fourth fails.
    broken_disk = mock.patch("os.replace", _failing_after(os.replace, 4, errno.EIO))
    with broken_disk, pytest.raises(ApplyError, match="left as it was"):
        JournaledApplier(tmp_path, 3).apply_sync("t", integration)
    assert snapshot(tmp_path) == before and leftovers(tmp_path) == []


class SimulatedCrash(BaseException):
    """Stands for the process dying: no handler runs, nothing is cleaned up."""


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    step=st.integers(0, 45),
    old=st.lists(st.sampled_from([None, b"", b"old\n", b"\x00old-binary"]), min_size=4,
                 max_size=4),
    new=st.lists(st.sampled_from([None, b"new\n", b"new\n" * 50]), min_size=4, max_size=4),
)
def test_crash_at_any_step_recovers_all_old_or_all_new(
    tmp_path: Path, durability: str, step: int, old: list[bytes | None],
    new: list[bytes | None],
) -> None:
    # Steps are the calls that change or flush the disk: 22 for an apply of 4 files with
    # syncfs, 41 with an fsync per file and folder; steps past the end crash nothing.
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        root = Path(tmp)
        write(root, {f"d{i}/f.txt": c for i, c in enumerate(old) if c is not None})
        before = snapshot(root)
        changes = {f"d{i}/f.txt": c for i, c in enumerate(new) if c != old[i]}
        after = expected_after(before, changes)
        integration = result(root, "task", changes)
        counter = {"n": 0}

        def crash_at_step(real: object) -> object:
            def step_or_crash(*args: object, **kwargs: object) -> object:
                counter["n"] += 1
                if counter["n"] == step:
                    raise SimulatedCrash
                return real(*args, **kwargs)  # type: ignore[operator]
            return step_or_crash

        patches = [mock.patch(f"os.{name}", crash_at_step(getattr(os, name)))
                   for name in ("fsync", "replace", "unlink", "rmdir", "mkdir", "write")]
        patches.append(mock.patch.object(statedir, "syncfs", crash_at_step(statedir.syncfs)))
        for patch in patches:
            patch.start()
        try:
            JournaledApplier(root, 3).apply_sync("task", integration)
        except SimulatedCrash:
            pass
        finally:
            for patch in patches:
                patch.stop()
        recover(root)
        assert snapshot(root) in (before, after)
        assert leftovers(root) == []


# --------------------------------------------------------------------------- undo


def test_undo_reverts_exactly_that_task_three_way(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "1\n2\n3\n4\n5\n6\n", "b.txt": "b\n", "c.txt": "c\n"})
    applier = JournaledApplier(tmp_path, retention=5)
    applier.apply_sync("task", result(tmp_path, "task", {
        "a.txt": b"1\n2 task\n3\n4\n5\n6\n", "b.txt": None, "new.txt": b"new\n",
        "c.txt": b"c task\n"}))
    applier.apply_sync("later", result(tmp_path, "later", {"x.txt": b"later\n"}))
    # The user keeps working: an edit elsewhere in a.txt, and an edit on the task's line.
    write(tmp_path, {"a.txt": "1\n2 task\n3\n4\n5\n6 user\n", "c.txt": "c task and user\n"})
    report = undo(tmp_path, "task", DiskReader(tmp_path))
    assert sorted(report.reverted) == ["a.txt", "b.txt", "new.txt"]
    assert list(report.skipped) == ["c.txt"]
    assert snapshot(tmp_path) == {"a.txt": b"1\n2\n3\n4\n5\n6 user\n", "b.txt": b"b\n",
                                  "c.txt": b"c task and user\n", "x.txt": b"later\n"}
    with pytest.raises(YuiError, match="already undone"):
        undo(tmp_path, "task", DiskReader(tmp_path))
    assert leftovers(tmp_path) == []


def test_backups_are_bounded_by_retention(tmp_path: Path) -> None:
    applier = JournaledApplier(tmp_path, retention=2)
    for i in range(4):
        applier.apply_sync(f"t{i}", result(tmp_path, f"t{i}", {f"f{i}.txt": b"x\n"}))
    assert sorted(p.name for p in (tmp_path / ".yui/backups").iterdir()) == ["t2", "t3"]
    with pytest.raises(YuiError, match="no backup"):
        undo(tmp_path, "t0", DiskReader(tmp_path))
