"""The audit log on a disk that fills up: nothing taken in is dropped, no line glued to one
the disk cut short."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from unittest import mock

import pytest

from yui_lsp.coordinator.audit import AuditLog
from yui_lsp.protocol import TaskStatus, TaskUpdate


def _update(n: int) -> TaskUpdate:
    return TaskUpdate(agent_id="w", task_id=f"t{n}", status=TaskStatus.RUNNING)


def test_a_batch_the_full_disk_cut_short_is_written_again_on_a_line_of_its_own(
        tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    real_write = os.write
    room = {"left": 40}

    def full_disk(fd: int, data: bytes) -> int:
        if room["left"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, data[:room["left"]])
        room["left"] -= written
        return written

    try:
        for n in (1, 2):
            audit(_update(n))
        batch = audit.take()
        with mock.patch("os.write", full_disk), pytest.raises(OSError):
            audit.write(batch)
        audit.give_back(batch)  # what the write loop does, then tries again later
        audit(_update(3))
        audit.write(audit.take())
    finally:
        audit.close()
    lines = path.read_text().splitlines()
    assert len(lines[0]) == 40, "the cut line stays as the disk left it"
    assert [json.loads(line)["task_id"] for line in lines[1:]] == ["t1", "t2", "t3"]
