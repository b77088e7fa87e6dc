"""A system error about yui's own state under ``.yui/`` is the user's to fix: said as such.

Front ends ask :func:`first_user_error` (or :func:`state_fault`) before calling an error
internal: a folder where a state file belongs (or the other way round), a full or read-only
disk, permissions.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from yui_lsp.errors import StateFileError, YuiError
from yui_lsp.workspace.statedir import STATE_DIR_NAME, shown

#: What a user can fix about a path: what is in its place, room on the disk, permissions.
_FIXABLE = frozenset({errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOSPC, errno.EDQUOT,
                      errno.EROFS, errno.EACCES, errno.EPERM})


def state_fault(exc: BaseException) -> StateFileError | None:
    """``exc`` as a StateFileError when it is a fixable OSError on a path under ``.yui/``."""
    if isinstance(exc, StateFileError):
        return exc
    if not isinstance(exc, OSError) or exc.errno not in _FIXABLE:
        return None
    for name in (exc.filename, exc.filename2):
        if isinstance(name, str | bytes) and STATE_DIR_NAME in Path(os.fsdecode(name)).parts:
            return StateFileError(shown(_in_the_way(Path(os.fsdecode(name)), exc)), exc, "use")
    return None


def _in_the_way(path: Path, exc: OSError) -> Path:
    # "Not a directory" is about a folder on the way to ``path``: name the one that is not.
    if exc.errno == errno.ENOTDIR:
        for folder in reversed(path.parents):
            if os.path.lexists(folder) and not folder.is_dir():
                return folder
    return path


def first_user_error(exc: BaseException) -> YuiError | None:
    """The error inside ``exc`` that the user can act on (task groups wrap what they raise)."""
    if isinstance(exc, YuiError):
        return exc
    if isinstance(exc, OSError):
        return state_fault(exc)
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = first_user_error(inner)
            if found is not None:
                return found
    return None
