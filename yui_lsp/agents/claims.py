"""Whether a workspace-relative path falls under a task's claims (paths or globs)."""

from __future__ import annotations

import re
from functools import lru_cache

_GLOB_CHARS = frozenset("*?[")


@lru_cache(maxsize=512)
def _claim_regex(claim: str) -> re.Pattern[str]:
    """A regex for one claim: ``**`` spans directories, ``*`` and ``?`` stay inside one."""
    claim = claim.strip("/")
    if not _GLOB_CHARS & set(claim):
        # A plain path claims itself and, if it is a directory, everything under it.
        return re.compile(re.escape(claim) + r"(?:/.*)?")
    out = []
    i = 0
    while i < len(claim):
        ch = claim[i]
        if claim.startswith("**/", i):
            out.append(r"(?:.*/)?")
            i += 3
        elif claim.startswith("**", i):
            out.append(r".*")
            i += 2
        elif ch == "*":
            out.append(r"[^/]*")
            i += 1
        elif ch == "?":
            out.append(r"[^/]")
            i += 1
        elif ch == "[":
            end = claim.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                body = claim[i + 1 : end].replace("\\", "\\\\")
                out.append(f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out))


def claimed(rel_path: str, claims: list[str]) -> bool:
    """True if ``rel_path`` (POSIX, workspace-relative) matches one of ``claims``."""
    return any(_claim_regex(claim).fullmatch(rel_path) for claim in claims)
