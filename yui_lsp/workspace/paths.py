"""Workspace-relative paths and claim globs.

Every path that crosses the workspace API is a workspace-relative POSIX string. Claims are
globs over such paths: ``*`` and ``?`` and ``[...]`` match within one path segment, a whole
segment ``**`` matches any number of segments (including none), ``{a,b}`` stands for each of
its alternatives (``src/{api,db}/**``), and a claim without any glob character also covers
everything below it when it names a folder (``src`` = ``src/**``). Empty and ``.`` segments
are ignored (``./src//a.py`` = ``src/a.py``). The cases every client must agree on are in
``tests/fixtures/claims.json``.
"""

from __future__ import annotations

import bisect
import fnmatch
import itertools
import os
import stat
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

from yui_lsp.errors import PlanError, ProtectedPathError

# Confinement lives in inside.py; these names stay importable from here.
from yui_lsp.workspace.inside import folders_checked_once as folders_checked_once
from yui_lsp.workspace.inside import normalise_rel
from yui_lsp.workspace.inside import resolve_inside as resolve_inside
from yui_lsp.workspace.inside import to_rel as to_rel

_GLOB_CHARS = frozenset("*?[")
#: A claim may stand for at most this many alternatives once its ``{a,b}`` are expanded.
_MAX_ALTERNATIVES = 256
#: Folders that never belong to a claim: git's own data and yui's state.
_NEVER_CLAIMED = frozenset({".git", ".yui"})


def protected_part(rel: str) -> str | None:
    """``.git`` or ``.yui`` when ``rel`` lies in (or is) such a folder at any depth, else None.

    Compared without case: on a case-insensitive filesystem ``.GIT/config`` is ``.git/config``.
    """
    for part in rel.replace("\\", "/").split("/"):
        folded = part.casefold()
        if folded in _NEVER_CLAIMED:
            return folded
    return None


def refuse_protected(paths: list[str], consequence: str) -> None:
    """Raise :class:`ProtectedPathError` when any of ``paths`` lies under ``.git/`` or ``.yui/``."""
    hits = [p for p in paths if protected_part(p) is not None]
    if hits:
        raise ProtectedPathError(hits, consequence)


def _has_glob(text: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(text)


# --------------------------------------------------------------------------- claims


@lru_cache(maxsize=65536)
def expand_braces(claim: str) -> tuple[str, ...]:
    """The claims ``claim`` stands for: ``src/{a,b}.py`` is ``src/a.py`` and ``src/b.py``.

    Alternatives may nest; a claim without braces stands for itself.
    """
    if "{" not in claim and "}" not in claim:
        return (claim,)
    start = claim.find("{")
    if start == -1 or "}" in claim[:start]:
        raise PlanError(f"claim {claim!r}: unbalanced '{{' or '}}' in the glob")
    depth, end, commas = 0, -1, [start]
    for i in range(start, len(claim)):
        if claim[i] == "{":
            depth += 1
        elif claim[i] == "}":
            depth -= 1
            if depth == 0:
                end = i
                break
        elif claim[i] == "," and depth == 1:
            commas.append(i)
    if end == -1:
        raise PlanError(f"claim {claim!r}: unbalanced '{{' or '}}' in the glob")
    bounds = [*commas, end]
    head, tail = claim[:start], claim[end + 1 :]
    out: list[str] = []
    for a, b in itertools.pairwise(bounds):
        for alternative in expand_braces(head + claim[a + 1 : b] + tail):
            if alternative not in out:
                out.append(alternative)
        if len(out) > _MAX_ALTERNATIVES:
            raise PlanError(
                f"claim {claim!r} stands for more than {_MAX_ALTERNATIVES} paths; "
                "use a wider glob"
            )
    return tuple(out)


def _alternatives(claims: list[str]) -> list[str]:
    return [alt for claim in claims for alt in expand_braces(claim)]


@lru_cache(maxsize=65536)
def _claim_segments(claim: str) -> tuple[str, ...]:
    """A validated claim as its segments; folder claims get a trailing ``**``."""
    if not claim or "\x00" in claim:
        raise PlanError(f"claim {claim!r} is empty; give a path or glob relative to the root")
    posix = claim.replace("\\", "/")
    if posix.startswith("/"):
        raise PlanError(f"claim {claim!r} is absolute; write it relative to the workspace root")
    directory = posix.endswith("/")
    segments = [s for s in posix.split("/") if s not in ("", ".")]
    if not segments:
        raise PlanError(f"claim {claim!r} names no path; use '**' to claim everything")
    for seg in segments:
        if seg == "..":
            raise PlanError(f"claim {claim!r} escapes the workspace ('..' is not allowed)")
        if "**" in seg and seg != "**":
            raise PlanError(
                f"claim {claim!r}: '**' must be a whole path segment (write '**/*.py', "
                "not '**.py')"
            )
        if seg.count("[") != seg.count("]"):
            raise PlanError(f"claim {claim!r}: unbalanced '[' or ']' in the glob")
    if directory or not _has_glob(posix):
        segments.append("**")
    return tuple(segments)


def validate_claims(claims: list[str]) -> None:
    """Raise PlanError for the first malformed claim."""
    for claim in _alternatives(claims):
        _claim_segments(claim)


def _match_segments(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(_match_segments(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    if not parts or not fnmatch.fnmatchcase(parts[0], head):
        return False
    return _match_segments(pattern[1:], parts[1:])


def path_matches(path: str, claims: list[str]) -> bool:
    """True when the workspace-relative ``path`` is covered by one of ``claims``."""
    parts = tuple(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))
    return any(_match_segments(_claim_segments(c), parts) for c in _alternatives(claims))


def _literal_affixes(seg: str) -> tuple[str, str]:
    """Literal text before the first and after the last wildcard of one segment."""
    first = min((seg.index(c) for c in _GLOB_CHARS if c in seg), default=len(seg))
    last = max((seg.rindex(c) for c in "*?]" if c in seg), default=-1)
    return seg[:first], seg[last + 1 :]


def _segments_overlap(a: str, b: str) -> bool:
    """Could one file name match both single-segment globs? Errs towards yes."""
    if not _has_glob(a):
        return fnmatch.fnmatchcase(a, b)
    if not _has_glob(b):
        return fnmatch.fnmatchcase(b, a)
    prefix_a, suffix_a = _literal_affixes(a)
    prefix_b, suffix_b = _literal_affixes(b)
    prefixes_agree = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes_agree = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes_agree and suffixes_agree


def _globs_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    @cache
    def overlap(i: int, j: int) -> bool:
        if i < len(a) and a[i] == "**":
            return overlap(i + 1, j) or (j < len(b) and overlap(i, j + 1))
        if j < len(b) and b[j] == "**":
            return overlap(i, j + 1) or (i < len(a) and overlap(i + 1, j))
        if i == len(a) or j == len(b):
            return i == len(a) and j == len(b)
        return _segments_overlap(a[i], b[j]) and overlap(i + 1, j + 1)

    return overlap(0, 0)


class ClaimSet:
    """A task's claims, prepared once for fast overlap checks against other tasks'.

    Literal claims (no wildcard: a file, or a folder and everything under it) become their
    folder chains; two literals overlap when one chain is a prefix of the other, which is two
    set-disjointness checks however many thousands of files a task claims. Only claims with
    a wildcard need the segment-by-segment glob comparison.
    """

    __slots__ = ("_sorted", "claims", "globs", "literals", "named", "prefixes")

    def __init__(self, claims: list[str]) -> None:
        claims = _alternatives(claims)
        self.claims = claims
        # Literal claims already in their clean form: a path equal to one is covered, and
        # is not split to see so (most claims of a refactor task are such files).
        self.named = frozenset(c for c in claims
                               if not _has_glob(c) and c == "/".join(_literal_parts(c)) and c)
        self.globs = [c for c in claims if _has_glob(c)]
        self.literals = {_literal_parts(c) for c in claims if not _has_glob(c)}
        self.prefixes = {parts[:k] for parts in self.literals for k in range(1, len(parts) + 1)}
        self._sorted: list[tuple[str, ...]] | None = None

    def overlaps(self, other: ClaimSet) -> bool:
        """True when some path could be covered by a claim of each (conservative)."""
        if not self.literals.isdisjoint(other.prefixes):
            return True
        if not other.literals.isdisjoint(self.prefixes):
            return True
        for glob in self.globs:
            segments = _claim_segments(glob)
            if any(_globs_overlap(segments, _claim_segments(g)) for g in other.globs):
                return True
            if any(_globs_overlap(segments, s) for s in other._literals_near(segments)):
                return True
        return any(_globs_overlap(_claim_segments(glob), s)
                   for glob in other.globs
                   for s in self._literals_near(_claim_segments(glob)))

    def _literals_near(self, glob: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        """The segments of each literal claim that could overlap ``glob``: a literal whose
        path leaves the glob's literal head (the segments before its first wildcard) cannot,
        so with thousands of literal claims only those along the head are compared."""
        head: tuple[str, ...] = ()
        for segment in glob:
            if segment == "**" or _has_glob(segment):
                break
            head += (segment,)
        if not head:
            yield from ((*parts, "**") for parts in self.literals)
            return
        for depth in range(1, len(head) + 1):  # folders above the head (or the head itself)
            if head[:depth] in self.literals:
                yield (*head[:depth], "**")
        ordered = self._ordered()
        for index in range(bisect.bisect_right(ordered, head), len(ordered)):  # below it
            parts = ordered[index]
            if parts[:len(head)] != head:
                break
            yield (*parts, "**")

    def _ordered(self) -> list[tuple[str, ...]]:
        if self._sorted is None:
            self._sorted = sorted(self.literals)
        return self._sorted

    def covers(self, path: str) -> bool:
        """True when the workspace-relative ``path`` is covered by one of the claims."""
        if path in self.named:
            return True
        parts = _literal_parts(path)
        if any(parts[:k] in self.literals for k in range(1, len(parts) + 1)):
            return True
        return any(_match_segments(_claim_segments(g), parts) for g in self.globs)

    def __bool__(self) -> bool:
        return bool(self.claims)


def claims_overlap(a: list[str], b: list[str]) -> bool:
    """True when some path could be covered by a claim of ``a`` and one of ``b``.

    Conservative: when unsure whether two wildcard segments can match the same name, they
    are taken to overlap, so two tasks are never wrongly allowed to write the same file.
    """
    return ClaimSet(a).overlaps(ClaimSet(b))


def _literal_parts(claim: str) -> tuple[str, ...]:
    """Folder chain of a validated literal claim (the fast path of ``_claim_segments``)."""
    return tuple(s for s in claim.replace("\\", "/").split("/") if s not in ("", "."))


def literal_heads(claim: str) -> list[str]:
    """The folder or file each alternative of ``claim`` names before its first glob
    segment (``src/*.py`` -> ``src``; ``{a,b}/x`` -> ``a/x``, ``b/x``); empty when the glob
    starts at the root. What must stay inside the workspace for the claim to."""
    heads = []
    for alternative in expand_braces(claim):
        parts = alternative.replace("\\", "/").split("/")
        fixed = itertools.takewhile(lambda part: not _has_glob(part), parts)
        heads.append("/".join(fixed))
    return heads


def expand_claims(root: Path, claims: list[str]) -> list[str]:
    """Existing files under ``root`` covered by ``claims``, relative and sorted.

    A claim naming one file that does not exist yet (a file to create) is kept as is. Git's
    folder and ``.yui/`` are never part of the result.
    """
    found: set[str] = set()
    walker = _Walker(os.fspath(root))
    for claim in _alternatives(claims):
        walker.walk("", _claim_segments(claim), True, found)
        if not _has_glob(claim) and not claim.endswith("/"):
            clean = normalise_rel(claim)
            if clean not in found and not os.path.lexists(os.path.join(walker.base, clean)):
                found.add(clean)
    return sorted(found)


class _Walker:
    """Visits only what a claim's segments can match; each folder is listed once.

    Entries come from ``os.scandir`` with their type, so a 10,000-file tree costs one
    listing per folder rather than several ``stat`` calls per file.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self._listed: dict[str, list[tuple[str, bool]]] = {}
        #: Folders named literally by a claim that were found to be real folders: the
        #: thousands of file claims of a refactor task share a few dozen.
        self._folders: set[str] = set()

    def entries(self, rel: str) -> list[tuple[str, bool]]:
        """(name, is a real folder) of ``rel``'s children, never .git or .yui."""
        cached = self._listed.get(rel)
        if cached is None:
            try:
                with os.scandir(os.path.join(self.base, rel) if rel else self.base) as it:
                    cached = [(e.name, e.is_dir(follow_symlinks=False))
                              for e in it if e.name not in _NEVER_CLAIMED]
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                cached = []
            self._listed[rel] = cached
        return cached

    def walk(self, rel: str, pattern: tuple[str, ...], is_dir: bool, found: set[str]) -> None:
        """Collect files at or under ``rel`` (which exists) that match ``pattern``."""
        if not pattern:
            if not is_dir:  # files, and symlinks of any kind (never followed)
                found.add(rel)
            return
        head = pattern[0]
        if head == "**":
            # "**" matches no segment at all, or swallows one more folder level and stays.
            self.walk(rel, pattern[1:], is_dir, found)
            if is_dir:
                for name, child_dir in self.entries(rel):
                    self.walk(f"{rel}/{name}" if rel else name, pattern, child_dir, found)
            return
        if not is_dir:
            return
        if _has_glob(head):
            for name, child_dir in self.entries(rel):
                if fnmatch.fnmatchcase(name, head):
                    self.walk(f"{rel}/{name}" if rel else name, pattern[1:], child_dir, found)
            return
        if head in _NEVER_CLAIMED:
            return
        child = f"{rel}/{head}" if rel else head
        if child in self._folders:
            self.walk(child, pattern[1:], True, found)
            return
        try:
            mode = os.lstat(os.path.join(self.base, child)).st_mode
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        if stat.S_ISDIR(mode):
            self._folders.add(child)
        self.walk(child, pattern[1:], stat.S_ISDIR(mode), found)
