"""Which files `yui refactor` hands to its tasks: the globs' files that contain the pattern.

Reading each candidate once here keeps the tasks (and their leases) to the files that will
really change, and turns a bad regex into a clear error before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from yui_lsp.errors import PlanError
from yui_lsp.protocol import RefactorSpec
from yui_lsp.workspace.paths import expand_claims, validate_claims


def _matcher(spec: RefactorSpec) -> re.Pattern[str] | None:
    if not spec.regex:
        return None
    try:
        return re.compile(spec.pattern, re.MULTILINE)
    except re.error as exc:
        raise PlanError(
            f"invalid --pattern regex {spec.pattern!r}: {exc} (drop --regex to match it literally)"
        ) from None


def files_to_refactor(root: Path, globs: list[str], spec: RefactorSpec) -> list[str]:
    """Workspace-relative text files matching ``globs`` that contain the pattern, sorted."""
    try:
        validate_claims(globs)
    except PlanError as exc:
        raise PlanError(f"--files: {exc}") from None
    pattern = _matcher(spec)
    literal = spec.pattern.encode("utf-8")
    found: list[str] = []
    for rel in expand_claims(root, globs):
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary: a text replacement never touches it
        if pattern is None:
            if literal in data:
                found.append(rel)
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if pattern.search(text):
            found.append(rel)
    return found
