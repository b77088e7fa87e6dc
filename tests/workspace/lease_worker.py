"""A separate coordinator process for lease tests.

Usage: lease_worker.py ROOT TASK_ID CLAIM HOLD_S LOG [--hang] [--until FILE]
Takes an exclusive lease on CLAIM (waiting if needed), logs when it holds it, holds it for
HOLD_S seconds (or, with --until, until FILE exists), then releases it. With --hang it never
releases (to be killed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio

from yui_lsp.protocol import LockRecord
from yui_lsp.workspace import LeaseTable


def log(path: Path, line: str) -> None:
    with path.open("a") as fh:
        fh.write(line + "\n")


async def main(root: Path, task_id: str, claim: str, hold_s: float, out: Path, hang: bool,
               until: Path | None) -> None:
    table = LeaseTable(root, f"coord-{task_id}", ttl_s=30)

    def waiting(record: LockRecord) -> None:
        log(out, f"wait {task_id} {record.locked_by}")

    await table.acquire(task_id, [claim], on_wait=waiting)
    log(out, f"start {task_id} {time.time()}")
    if hang:
        await anyio.sleep_forever()
    await anyio.sleep(hold_s)
    while until is not None and not until.exists():
        await anyio.sleep(0.02)
    log(out, f"end {task_id} {time.time()}")
    table.release(task_id)


if __name__ == "__main__":
    args = sys.argv[1:]
    until = Path(args[args.index("--until") + 1]) if "--until" in args else None
    anyio.run(main, Path(args[0]), args[1], args[2], float(args[3]), Path(args[4]),
              "--hang" in args, until)
