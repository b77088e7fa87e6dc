"""A headless coordinator process that applies one fixed result, for fault tests.

Usage: apply_worker.py ROOT TASK_ID [--fsize-limit BYTES]
Prints "ready" once the result is merged, applies it when a line arrives on stdin, then
prints "done SECONDS" or "error MESSAGE". With --fsize-limit the process may not write
files larger than BYTES (a full disk as the kernel reports it: EFBIG on write).
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from pathlib import Path

from yui_lsp.errors import ApplyError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import DiskReader, Integration, JournaledApplier, MergedFile

FILES = 12


def old_files() -> dict[str, bytes | None]:
    """What the workspace holds before the task (None: no such file)."""
    files: dict[str, bytes | None] = {f"src/f{i:02}.txt": f"old {i}\n".encode() * 200
                                      for i in range(FILES)}
    files["src/new/created.txt"] = None
    return files


def new_files() -> dict[str, bytes | None]:
    """What the task's result makes of them (None: deleted)."""
    files: dict[str, bytes | None] = {f"src/f{i:02}.txt": f"new {i}\n".encode() * 300
                                      for i in range(FILES)}
    files["src/f03.txt"] = None
    files["src/new/created.txt"] = b"created by the task\n" * 50
    return files


def integration(root: Path, task_id: str) -> Integration:
    reader = DiskReader(root)
    merged = []
    for rel, content in new_files().items():
        now = reader.read(rel)
        kind = (ChangeKind.DELETE if content is None
                else ChangeKind.CREATE if now is None else ChangeKind.MODIFY)
        merged.append(MergedFile(path=rel, kind=kind, content=content, expected=now))
    return Integration(task_id=task_id, files=merged)


def main(argv: list[str]) -> None:
    root, task_id = Path(argv[0]), argv[1]
    if "--fsize-limit" in argv:
        limit = int(argv[argv.index("--fsize-limit") + 1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    result = integration(root, task_id)
    applier = JournaledApplier(root, retention=5)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    try:
        applier.apply_sync(task_id, result)
    except ApplyError as exc:
        print(f"error {exc}", flush=True)
        return
    print(f"done {time.perf_counter() - started}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
