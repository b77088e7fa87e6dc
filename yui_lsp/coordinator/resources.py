"""Graceful degradation: hold new tasks back while memory or CPU runs short."""

from __future__ import annotations

import psutil


class ResourceGate:
    """Says why a new task should wait, or None when there is room for it."""

    def __init__(self, min_free_memory_mb: float, max_cpu_percent: float) -> None:
        self.min_free_memory_mb = min_free_memory_mb
        self.max_cpu_percent = max_cpu_percent
        psutil.cpu_percent(interval=None)  # prime: the next call measures since now

    def shortage(self) -> str | None:
        free_mb = psutil.virtual_memory().available / 2**20
        if free_mb < self.min_free_memory_mb:
            return (
                f"waiting for memory: {free_mb:.0f} MB free, "
                f"min_free_memory_mb is {self.min_free_memory_mb:.0f}"
            )
        if self.max_cpu_percent < 100:
            cpu = psutil.cpu_percent(interval=None)
            if cpu > self.max_cpu_percent:
                return (
                    f"waiting for CPU: {cpu:.0f}% busy, "
                    f"max_cpu_percent is {self.max_cpu_percent:.0f}"
                )
        return None
