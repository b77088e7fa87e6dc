"""The coordinator's own workers, no LLM needed: ``refactor``, ``shell`` and ``yui``.

``refactor`` replaces a literal or a regex over files of the sandbox, exactly and fast;
``shell`` runs a command (formatter, codemod, generator) in the sandbox through the runner;
``yui`` picks one of the two from what the task carries, and otherwise hands the task's
prompt to Yui's model-backed worker (yui_lsp/agents/yui/).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.bounded_regex import sub_many
from yui_lsp.agents.cli import exit_error
from yui_lsp.agents.output import OutputSink
from yui_lsp.agents.runner import run_agent_process
from yui_lsp.agents.yui import run_model_worker
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError
from yui_lsp.protocol import RefactorSpec
from yui_lsp.workspace import as_text

_SKIP_DIRS = frozenset({".git", ".yui", "node_modules", ".venv", "__pycache__"})


def refactor_text(text: str, spec: RefactorSpec) -> tuple[str, int]:
    """``text`` with ``spec`` applied, and how many replacements were made.

    Raises AgentFailedError for an invalid regex, PlanError for a runaway one.
    """
    return refactor_texts([("text", text)], spec).get("text", (text, 0))


def refactor_texts(
    texts: list[tuple[str, str]], spec: RefactorSpec
) -> dict[str, tuple[str, int]]:
    """``{name: (new text, replacements)}`` for the ``(name, text)`` pairs ``spec`` changes.

    A regex runs in a child process with a time budget (see :mod:`bounded_regex`), all texts
    in one batch; a literal replacement runs here.
    """
    if not spec.regex:
        changed = {}
        for name, text in texts:
            count = text.count(spec.pattern)
            if count:
                changed[name] = (text.replace(spec.pattern, spec.replacement), count)
        return changed
    try:
        # Compiling (and a replacement on no text, which parses the template) is never slow.
        re.compile(spec.pattern, re.MULTILINE).sub(spec.replacement, "")
    except re.error as exc:
        raise AgentFailedError(
            f"invalid refactor pattern {spec.pattern!r}: {exc} (fix --pattern, or drop --regex "
            "to replace it literally)"
        ) from None
    return sub_many(spec.pattern, spec.replacement, texts)


@dataclass
class RefactorReport:
    """What one refactor pass did."""

    changed: list[str] = field(default_factory=list)
    replacements: int = 0
    skipped: list[str] = field(default_factory=list)
    scanned: int = 0


def _expand(root: Path, patterns: list[str]) -> list[Path]:
    """Files under ``root`` matching the globs (a directory means everything under it)."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        direct = root / pattern
        matches = [direct] if direct.exists() else sorted(root.glob(pattern))
        for match in matches:
            candidates = match.rglob("*") if match.is_dir() else [match]
            for path in candidates:
                rel = path.relative_to(root)
                if path.is_file() and not path.is_symlink() and not _SKIP_DIRS & set(rel.parts):
                    found.setdefault(rel.as_posix(), path)
    return [found[key] for key in sorted(found)]


def write_whole(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (temp file in the same dir, then rename)."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yui-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refactor_tree(root: Path, spec: RefactorSpec, default_files: list[str]) -> RefactorReport:
    """Apply ``spec`` to the files it names (else ``default_files``) under ``root``."""
    patterns = spec.files or default_files
    if not patterns:
        raise AgentFailedError(
            "the refactor worker needs files to rewrite: give --files globs or task claims"
        )
    report = RefactorReport()
    texts: dict[str, tuple[Path, str]] = {}
    for path in _expand(root, patterns):
        rel = path.relative_to(root).as_posix()
        report.scanned += 1
        data = path.read_bytes()
        text = as_text(data)
        if text is None:
            why = "binary" if b"\x00" in data else "not UTF-8"
            report.skipped.append(f"{rel} ({why})")
            continue
        texts[rel] = (path, text)
    changed = refactor_texts([(rel, text) for rel, (_, text) in texts.items()], spec)
    for rel, (new, count) in changed.items():
        path, text = texts[rel]
        if new != text:
            write_whole(path, new.encode("utf-8"))
            report.changed.append(rel)
            report.replacements += count
    return report


class RefactorAdapter:
    """Built-in literal/regex replacement over the sandbox (kind ``refactor``)."""

    kind = "refactor"

    def check_available(self, profile: AgentProfile) -> None:
        """Always available: it is part of yui."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        spec = run.task.refactor
        if spec is None:
            raise AgentFailedError(
                "the refactor worker needs a refactor spec (pattern and replacement)"
            )
        report = await anyio.to_thread.run_sync(refactor_tree, run.workdir, spec, run.task.claims)
        with OutputSink(run) as sink:
            for skipped in report.skipped:
                sink.note(f"skipped {skipped}")
            summary = (
                f"replaced {report.replacements} occurrence(s) in {len(report.changed)} of "
                f"{report.scanned} file(s)"
            )
            sink.note(summary)
        return AgentOutcome(
            files_reported=report.changed,
            summary=summary,
            metrics={
                "replacements": float(report.replacements),
                "files_changed": float(len(report.changed)),
                "files_skipped": float(len(report.skipped)),
            },
        )


class ShellAdapter:
    """Runs the task's argv in the sandbox through the runner (kind ``shell``)."""

    kind = "shell"

    def check_available(self, profile: AgentProfile) -> None:
        """Always available: the command comes with each task and is checked when it runs."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = run.task.command or run.profile.command
        if not argv:
            raise AgentFailedError("the shell worker needs a command (task.command argv)")
        argv = [*argv, *run.profile.args]
        outcome = await run_agent_process(run, argv)
        name = Path(argv[0]).name
        if outcome.exit_code != 0:
            raise exit_error(name, outcome)
        # What it said on stderr is the hint when it changed nothing (a wrongly split argv).
        complaints = [line for line in outcome.sink.tails["stderr"] if line.strip()][-5:]
        return AgentOutcome(
            summary=outcome.sink.last("stdout", 1) or f"{name} finished",
            metrics={"duration_s": round(outcome.duration_s, 3)},
            failures=complaints,
        )


class YuiAdapter:
    """The coordinator's own worker: refactor if the task has a spec, its command if it has
    one, else Yui's model-backed worker on the task's prompt."""

    kind = "yui"

    def __init__(self) -> None:
        self._refactor = RefactorAdapter()
        self._shell = ShellAdapter()

    def check_available(self, profile: AgentProfile) -> None:
        """Always available."""

    async def run(self, run: AgentRun) -> AgentOutcome:
        if run.task.refactor is not None:
            return await self._refactor.run(run)
        if run.task.command:
            return await self._shell.run(run)
        return await run_model_worker(run)
