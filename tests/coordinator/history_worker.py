"""One coordinator's use of the task history, in a process of its own (see test_history.py).

For each repository in turn, every process waits at the barrier, then opens that
repository's history at the same moment as the others (the first open creates it), reserves
ids and records tasks under them, and reports the ids it was granted.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from yui_lsp.coordinator.history import History, HistoryEntry
from yui_lsp.protocol import Task, TaskInfo, TaskStatus

ROUNDS_OF_IDS = 2


def take_ids(name: str, roots: list[str], barrier: Barrier,
             results: Queue[tuple[str, list[str] | str]]) -> None:
    """Reserve and record ``api``/``tests`` ids in each of ``roots``; report ids or error."""
    for root in roots:
        barrier.wait(timeout=60)
        granted: list[str] = []
        try:
            history = History(Path(root))
            try:
                for _ in range(ROUNDS_OF_IDS):
                    ids = history.reserve(name, ["api", "tests"])
                    history.record(HistoryEntry(
                        info=TaskInfo(task=Task(id=new, title=wanted, prompt="p"),
                                      status=TaskStatus.COMPLETED, coordinator_id=name),
                        metrics={}, log_path="") for wanted, new in ids.items())
                    granted.extend(ids.values())
            finally:
                history.close()
        except Exception as exc:  # reported to the test, which fails on it
            results.put((root, f"{name}: {exc!r}"))
        else:
            results.put((root, granted))
