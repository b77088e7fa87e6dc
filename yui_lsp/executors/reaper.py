"""Ends an attempt's agent processes on a node when the Ray worker running it dies.

``python .../yui_lsp/executors/reaper.py TAG FOLDER`` (a plain script: it imports nothing
of yui_lsp, so it starts fast) runs beside each remote attempt in a
session of its own, its stdin a pipe from the worker. The worker writes ``done`` when the
attempt ended normally (its processes are already gone). When the pipe closes without it —
the worker was killed: the coordinator cancelled the attempt or died, or the node's raylet
went — every process carrying the attempt's tag in its environment or working inside its
sandbox is killed, so no agent keeps running on the cluster with nobody to land its work.
"""

from __future__ import annotations

import contextlib
import os
import sys

import psutil

#: Environment variable every process of a remote attempt inherits.
TAG_VARIABLE = "YUI_ATTEMPT_TAG"


def _belongs(proc: psutil.Process, tag: str, folder: str) -> bool:
    with contextlib.suppress(psutil.Error):
        cwd = proc.cwd()
        if cwd == folder or cwd.startswith(folder + os.sep):
            return True
    with contextlib.suppress(psutil.Error):
        return proc.environ().get(TAG_VARIABLE) == tag
    return False


def reap(tag: str, folder: str) -> int:
    """Kill every process of the attempt ``tag`` (or working in ``folder``); how many."""
    real = os.path.realpath(folder)
    me = os.getpid()
    doomed = [p for p in psutil.process_iter() if p.pid != me and _belongs(p, tag, real)]
    for proc in doomed:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return len(doomed)


def main(argv: list[str]) -> int:
    tag, folder = argv
    finished = sys.stdin.read().strip() == "done"
    if not finished:
        reap(tag, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
