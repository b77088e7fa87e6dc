"""A coordinator in its own process, for fault tests that kill it.

Usage: python coordinator_worker.py ROOT SANDBOX_DIR PIDFILE
Runs one shell task claiming src/a.py whose agent writes PIDFILE and sleeps (PIDFILE is in
its argv, to find it by).
"""

from __future__ import annotations

import sys

import anyio

from yui_lsp import ParallelTaskManager, Task
from yui_lsp.config import Settings


async def main(root: str, sandbox_dir: str, pidfile: str) -> None:
    code = (
        f"import os,time;open('src/a.py','a').write('# agent\\n');"
        f"open({pidfile!r},'w').write('up');time.sleep(120)"
    )
    settings = Settings(sandbox_dir=sandbox_dir)
    async with ParallelTaskManager(root, settings=settings) as manager:
        await manager.submit_task(
            Task(id="doomed", claims=["src/a.py"], command=[sys.executable, "-c", code, pidfile]),
            "shell",
        )
        await manager.wait_for_completion()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:4])
