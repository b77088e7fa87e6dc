"""Applies a result on a really full disk: a tiny tmpfs mounted in a private mount namespace.

Usage (as root): unshare --mount python full_disk_worker.py FOLDER TMPFS_KB NEW_KB
Prints one JSON line: the ApplyError message, whether the old file is intact, what is left.
The tmpfs disappears with the namespace, so every check happens here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from yui_lsp.errors import ApplyError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import Integration, JournaledApplier, MergedFile


def main(folder: str, tmpfs_kb: int, new_kb: int) -> dict[str, object]:
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_kb}k", "tmpfs", str(root)],
                   check=True)
    old = b"old line\n" * 100
    (root / "a.txt").write_bytes(old)
    (root / "b.txt").write_bytes(b"b\n")
    new = b"n" * (new_kb * 1024)
    integration = Integration(task_id="big", files=[
        MergedFile(path="a.txt", kind=ChangeKind.MODIFY, content=new, expected=old),
        MergedFile(path="b.txt", kind=ChangeKind.MODIFY, content=b"B\n", expected=b"b\n"),
    ])
    error = ""
    try:
        JournaledApplier(root, retention=5).apply_sync("big", integration)
    except ApplyError as exc:
        error = str(exc)
    leftovers = sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and p.name not in ("a.txt", "b.txt") and "locks" not in p.parts
    )
    return {
        "error": error,
        "a_intact": (root / "a.txt").read_bytes() == old,
        "b_intact": (root / "b.txt").read_bytes() == b"b\n",
        "leftovers": leftovers,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
