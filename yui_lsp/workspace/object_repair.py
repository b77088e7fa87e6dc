"""Loose objects of yui's own sandbox object store that a power cut left empty or cut short.

git writes loose objects without fsync by default: after a power cut an object file can be
there yet empty, and git then neither rewrites it (it exists) nor reads it ("loose object
... is corrupt"), so every hand-out would fail from then on. Such files are moved aside to
``objects.damaged/`` (kept, like every damaged thing yui finds) and the hand-out retried:
the objects are made again from the workspace.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

_TYPES = (b"blob ", b"tree ", b"commit ", b"tag ")
_OBJECT_NAME = re.compile(r"[0-9a-f]{38}|[0-9a-f]{62}")  # SHA-1 or SHA-256, less 2 digits


def _sound(path: Path) -> bool:
    """Whether ``path`` starts like a loose object: zlib data opening with a type header."""
    try:
        with path.open("rb") as fh:
            head = zlib.decompressobj().decompress(fh.read(64), 16)
    except (OSError, zlib.error):
        return False
    return head.startswith(_TYPES)


def set_aside_damaged(objects: Path) -> list[Path]:
    """Move the damaged loose objects of ``objects`` aside; returns what was moved.

    Called when a git command of a hand-out failed: git words it many ways ("is corrupt",
    "is empty", "is not a valid object", "unable to read tree"), the store itself tells.
    """
    # Only finished objects: git writes each to a temp file (tmp_obj_*) and renames it.
    damaged = [p for p in objects.glob("[0-9a-f][0-9a-f]/*")
               if _OBJECT_NAME.fullmatch(p.name) and not _sound(p)]
    if not damaged:
        return []
    aside = objects.with_name("objects.damaged") / time.strftime("%Y%m%dT%H%M%S")
    for path in damaged:
        target = aside / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    log.warning("%d damaged objects in %s (a power cut?) were moved to %s; they are made "
                "again from the workspace", len(damaged), objects, aside)
    return damaged
