"""The apply journal on disk: torn journals, journals of earlier versions, flush counts."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.workspace.conftest import write
from tests.workspace.test_apply import leftovers, result, snapshot
from yui_lsp.errors import DamagedJournalError, YuiError
from yui_lsp.workspace import DiskReader, JournaledApplier, recover, statedir, undo
from yui_lsp.workspace import journal as jr


def test_journal_cut_off_before_its_flush_is_discarded_and_nothing_changes(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    before = snapshot(tmp_path)
    integration = result(tmp_path, "t", {"a.txt": b"A\n", "b.txt": None})
    changes = [jr.Change(f.path, tmp_path / f.path, f.content, f.expected) for f in
               integration.files]
    folder = jr.journal_root(tmp_path) / "t"
    with statedir.WriteBarrier(tmp_path) as barrier:
        jr.write_journal(folder, "t", changes, barrier)
    # A power cut kept the manifest but only part of the pack's data.
    pack = folder / jr.PACK
    pack.write_bytes(pack.read_bytes()[:3])
    assert recover(tmp_path) == ["t"]
    assert snapshot(tmp_path) == before and leftovers(tmp_path) == []
    assert not (tmp_path / ".yui/backups/t").exists()


def test_torn_manifest_is_discarded(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n"})
    folder = jr.journal_root(tmp_path) / "t"
    folder.mkdir(parents=True)
    (folder / jr.MANIFEST).write_bytes(b'{"format": 2, "task_id": "t", "ops": [{"pa')
    assert recover(tmp_path) == ["t"]
    assert snapshot(tmp_path) == {"a.txt": b"a\n"} and leftovers(tmp_path) == []


def _legacy_journal(root: Path, task_id: str, ops: list[tuple[str, bytes | None, bytes]]) -> None:
    """A journal as earlier versions wrote it: one file per content under blobs/."""
    folder = jr.journal_root(root) / task_id
    (folder / "blobs").mkdir(parents=True)
    recorded = []
    for i, (path, new, old) in enumerate(ops):
        if new is not None:
            (folder / "blobs" / f"{i}.new").write_bytes(new)
        (folder / "blobs" / f"{i}.old").write_bytes(old)
        recorded.append({"path": path, "new": None if new is None else f"{i}.new",
                         "old": f"{i}.old", "mode": None, "old_mode": 0o100644})
    body = {"task_id": task_id, "ops": recorded}
    (folder / jr.MANIFEST).write_text(json.dumps(body, indent=1))


def test_interrupted_apply_of_an_earlier_version_rolls_forward_and_undoes(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    # The earlier version died after replacing a.txt, before removing b.txt.
    _legacy_journal(tmp_path, "old", [("a.txt", b"A\n", b"a\n"), ("b.txt", None, b"b\n")])
    write(tmp_path, {"a.txt": "A\n"})
    assert recover(tmp_path) == ["old"]
    assert snapshot(tmp_path) == {"a.txt": b"A\n"} and leftovers(tmp_path) == []
    report = undo(tmp_path, "old", DiskReader(tmp_path))
    assert sorted(report.reverted) == ["a.txt", "b.txt"]
    assert snapshot(tmp_path) == {"a.txt": b"a\n", "b.txt": b"b\n"}


def _flushes(root: Path, task_id: str, count: int) -> int:
    old: dict[str, str | bytes] = {f"d{i % 7}/f{i}.txt": f"old {i}\n" for i in range(count)}
    write(root, old)
    new: dict[str, bytes | None] = {f"d{i % 7}/f{i}.txt": b"new\n" for i in range(count)}
    new |= {f"new/f{i}.txt": b"created\n" for i in range(count)}
    integration = result(root, task_id, new)
    calls = {"n": 0}

    def counted(real: object) -> object:
        def call(*args: object) -> object:
            calls["n"] += 1
            return real(*args)  # type: ignore[operator]
        return call

    with mock.patch.object(statedir, "syncfs", counted(statedir.syncfs)), \
            mock.patch("os.fsync", counted(os.fsync)):
        JournaledApplier(root, retention=3).apply_sync(task_id, integration)
    assert snapshot(root)[f"new/f{count - 1}.txt"] == b"created\n"
    return calls["n"]


def test_flushes_per_apply_do_not_grow_with_its_files(tmp_path: Path) -> None:
    if not statedir.syncfs_supported(tmp_path):
        pytest.skip("syncfs(2) is not trusted on this filesystem: one fsync per file there")
    small = _flushes(tmp_path / "small", "small", 3)
    large = _flushes(tmp_path / "large", "large", 400)
    # Record the journal, stage, land, commit: one flush each, whatever the size.
    assert small == large == 4


def _recorded(root: Path, task_id: str) -> Path:
    """A complete journal of ``a.txt`` → ``A``, as a crash after recording leaves it."""
    write(root, {"a.txt": "a\n"})
    integration = result(root, task_id, {"a.txt": b"A\n"})
    changes = [jr.Change(f.path, root / f.path, f.content, f.expected) for f in
               integration.files]
    folder = jr.journal_root(root) / task_id
    with statedir.WriteBarrier(root) as barrier:
        jr.write_journal(folder, task_id, changes, barrier)
    return folder


@pytest.mark.parametrize(("damage", "said"), [
    (lambda body: body.pop("pack_size"), "manifest.json has no 'pack_size'"),
    (lambda body: body.update(format="2"), "format '2' is not a number"),
    (lambda body: body["ops"][0].update(new=[0, 10_000]), "points past the end of blobs.pack"),
    (lambda body: body["ops"][0].update(mode=10**30), "is not a file mode"),
    (lambda body: body.update(ops={"a.txt": 1}), "manifest.json"),
])
def test_a_journal_that_parses_but_does_not_add_up_is_kept_and_named(
        tmp_path: Path, damage: Callable[[dict[str, Any]], object], said: str) -> None:
    folder = _recorded(tmp_path, "t")
    body = json.loads((folder / jr.MANIFEST).read_bytes())
    damage(body)
    (folder / jr.MANIFEST).write_text(json.dumps(body))
    kept = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(DamagedJournalError) as raised:
        recover(tmp_path)
    assert said in str(raised.value) and ".yui/journal/t" in str(raised.value)
    assert snapshot(tmp_path) == {"a.txt": b"a\n"}
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == kept


def test_undo_of_a_backup_pointing_past_its_pack_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "a\n"})
    JournaledApplier(tmp_path, retention=3).apply_sync("t", result(tmp_path, "t",
                                                                   {"a.txt": b"A\n"}))
    manifest = jr.backup_root(tmp_path) / "t" / jr.MANIFEST
    body = json.loads(manifest.read_bytes())
    body["ops"][0]["old"] = [0, 10_000]  # would hand back the new and old contents joined
    manifest.write_text(json.dumps(body))
    with pytest.raises(YuiError, match=r"points past the end of blobs\.pack"):
        undo(tmp_path, "t", DiskReader(tmp_path))
    assert snapshot(tmp_path) == {"a.txt": b"A\n"}
