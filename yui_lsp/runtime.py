"""Process-wide settings that the front ends (`yui`, `yui-lsp`) apply when they start."""

from __future__ import annotations

import ctypes
import os
import sys

#: mallopt() parameter number of M_ARENA_MAX in glibc's malloc.h.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (like ``MALLOC_ARENA_MAX``); True when it took effect.

    The coordinator does its blocking file and git work on anyio's worker threads, and glibc
    gives each thread its own arena that keeps freed memory: over thousands of tasks the
    process grows by tens of megabytes it never uses again. Two arenas hold that growth to
    a plateau (see docs/benchmarks.md) at no measurable cost in speed. An explicit
    ``MALLOC_ARENA_MAX`` from the user wins; other C libraries are left alone.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        # The process's own symbols: no library search (find_library runs ldconfig or gcc,
        # which costs `yui` a noticeable part of its start-up).
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    return bool(mallopt(_M_ARENA_MAX, arenas))
