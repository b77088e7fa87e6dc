"""Graceful degradation: hold new tasks back while memory or CPU runs short."""

from __future__ import annotations

import time

import psutil

#: CPU use is judged over at least this long. Starting a task (worktree checkout, agent
#: start-up) is a burst of CPU by itself; judged over a shorter window, the first tasks'
#: bursts would hold back the next ones on a machine that is otherwise idle.
CPU_WINDOW_S = 2.0
#: Available memory is read again after this long (tasks start far less often).
MEMORY_REFRESH_S = 0.25


class ResourceGate:
    """Says why a new task should wait, or None when there is room for it."""

    def __init__(self, min_free_memory_mb: float, max_cpu_percent: float) -> None:
        self.min_free_memory_mb = min_free_memory_mb
        self.max_cpu_percent = max_cpu_percent
        self._cpu = 0.0
        self._cpu_since = time.monotonic()
        self._free = 0.0
        self._memory_since = -MEMORY_REFRESH_S
        psutil.cpu_percent(interval=None)  # prime: the next reading measures since now

    def _cpu_busy(self) -> float:
        """Machine CPU use (percent) over the last complete window of CPU_WINDOW_S."""
        now = time.monotonic()
        if now - self._cpu_since >= CPU_WINDOW_S:
            self._cpu = psutil.cpu_percent(interval=None)
            self._cpu_since = now
        return self._cpu

    def _free_mb(self) -> float:
        """Available memory, read at most every MEMORY_REFRESH_S (a /proc read each time the
        scheduler looks would cost the event loop ~0.5 ms per step)."""
        now = time.monotonic()
        if now - self._memory_since >= MEMORY_REFRESH_S:
            self._free = psutil.virtual_memory().available / 2**20
            self._memory_since = now
        return self._free

    def shortage(self) -> str | None:
        free_mb = self._free_mb()
        if free_mb < self.min_free_memory_mb:
            return (
                f"waiting for memory: {free_mb:.0f} MB free, "
                f"min_free_memory_mb is {self.min_free_memory_mb:.0f}"
            )
        if self.max_cpu_percent < 100:
            cpu = self._cpu_busy()
            if cpu > self.max_cpu_percent:
                return (
                    f"waiting for CPU: {cpu:.0f}% busy over {CPU_WINDOW_S:g} s, "
                    f"max_cpu_percent is {self.max_cpu_percent:.0f}"
                )
        return None
