"""What Yui's worker may do to its task's sandbox: read, list, search, write, edit, run.

Plain async methods with no model library in sight, so they are tested on their own and the
tool layer (tools.py) stays a thin wrapper. Every answer is text meant for the model: a
refusal says why (outside the sandbox, ``.git``/``.yui``, a lease another task holds), never
raises, so the model can adapt. Writes go through ``run.write_guard`` — the same lease check
the ACP file service uses — before they land; commands run confined like any agent process.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.cli import workdir_relative
from yui_lsp.agents.output import OutputSink, ProgressReporter, Stream, clean_line
from yui_lsp.agents.runner import LocalExecutor, ProcessSpec, child_env, confine_request
from yui_lsp.config import YuiModelConfig
from yui_lsp.errors import PathOutsideWorkspaceError, YuiError
from yui_lsp.redact import redact
from yui_lsp.workspace import safe_fs

_HIDDEN = frozenset({".git", ".yui"})
_SKIP_DIRS = frozenset({".git", ".yui", "node_modules", ".venv", "__pycache__"})
_LIST_MAX = 500
_SEARCH_MAX = 200
_SEARCH_FILE_MAX = 2_000_000
_READ_LINES = 400


class Refused(Exception):
    """A request the model made that yui will not carry out; the message is for the model."""


@dataclass
class SandboxTools:
    """The sandbox of one run, as the model's tools see it."""

    run: AgentRun
    config: YuiModelConfig
    sink: OutputSink
    progress: ProgressReporter
    written: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    commands: int = 0

    root: Path = field(init=False)

    def __post_init__(self) -> None:
        # Resolved once: every path the model names is checked against it.
        self.root = self.run.workdir.resolve()

    # -- paths ---------------------------------------------------------------------------

    def relative(self, path: str, *, for_write: bool = False) -> str:
        """``path`` as a sandbox-relative POSIX path; Refused when it may not be used."""
        raw = path.strip() or "."
        rel = workdir_relative(self.run, raw)
        if rel is None:
            raise Refused(f"{path}: outside the task's sandbox (use paths relative to it)")
        if rel and _HIDDEN & set(rel.split("/")):
            raise Refused(f"{path}: .git and .yui are off limits")
        full = self.root / rel if rel else self.root
        real = Path(os.path.realpath(full))
        if real != self.root and self.root not in real.parents:
            raise Refused(f"{path}: a symlink that leads outside the sandbox")
        if for_write and (not rel or full.is_dir()):
            raise Refused(f"{path}: not a regular file that can be written")
        return rel or "."

    async def checked(self, path: str, *, for_write: bool = False) -> str:
        """:meth:`relative` off the event loop (it looks at the file system)."""
        return await anyio.to_thread.run_sync(
            lambda: self.relative(path, for_write=for_write)
        )

    def _cap(self, text: str) -> str:
        cap = self.config.output_cap_chars
        if len(text) <= cap:
            return text
        return f"{text[:cap]}\n[... {len(text) - cap} more characters cut]"

    def _show(self, text: str, *, step: bool = True) -> None:
        self.sink.line("stdout", text)
        self.progress.activity(text, step=step)

    def refuse(self, what: str, reason: str) -> str:
        """Note a refusal in the log and progress; the text the model gets back."""
        self.refused.append(what)
        self.sink.note(f"refused {what}: {reason}")
        return f"REFUSED: {reason}"

    # -- reading ---------------------------------------------------------------------------

    async def read_file(self, path: str, offset: int = 1, limit: int = _READ_LINES) -> str:
        """Lines ``offset``.. (1-based) of a text file, at most ``limit`` of them."""
        try:
            rel = await self.checked(path)
        except Refused as exc:
            return self.refuse(f"read of {path}", str(exc))
        self._show(f"read {rel}", step=False)
        try:
            text = await self._read_text(rel)
        except FileNotFoundError:
            return f"ERROR: {rel} does not exist"
        except (IsADirectoryError, NotADirectoryError):
            return f"ERROR: {rel} is not a file (use list_files for folders)"
        except UnicodeDecodeError:
            return f"ERROR: {rel} is not a UTF-8 text file"
        except PathOutsideWorkspaceError:
            return self.refuse(f"read of {path}", f"{path}: a link that leads outside the sandbox")
        lines = text.splitlines(keepends=True)
        start = max(offset, 1) - 1
        chosen = lines[start : start + max(limit, 1)]
        more = len(lines) - start - len(chosen)
        body = "".join(chosen)
        if more > 0:
            body += f"\n[... {more} more lines; read again with offset={start + len(chosen) + 1}]"
        return self._cap(body)

    async def list_files(self, path: str = ".", pattern: str = "*") -> str:
        """Files under ``path`` (recursive) whose name matches ``pattern``, one per line."""
        try:
            rel = await self.checked(path)
        except Refused as exc:
            return self.refuse(f"list of {path}", str(exc))
        self._show(f"list {rel}", step=False)
        found = await anyio.to_thread.run_sync(_walk, self.root, rel, pattern, _LIST_MAX + 1)
        if not found:
            return f"no files under {rel} match {pattern}"
        text = "\n".join(found[:_LIST_MAX])
        if len(found) > _LIST_MAX:
            text += f"\n[... more than {_LIST_MAX} files; narrow path or pattern]"
        return text

    async def search(self, pattern: str, path: str = ".", glob: str = "*") -> str:
        """``path:line: text`` for lines matching the regex ``pattern`` (bounded)."""
        try:
            rel = await self.checked(path)
            regex = re.compile(pattern)
        except Refused as exc:
            return self.refuse(f"search of {path}", str(exc))
        except re.error as exc:
            return f"ERROR: invalid regex {pattern!r}: {exc}"
        self._show(f"search {pattern!r} in {rel}", step=False)
        hits = await anyio.to_thread.run_sync(_grep, self.root, rel, regex, glob)
        if not hits:
            return "no matches"
        text = self._cap("\n".join(hits[:_SEARCH_MAX]))
        if len(hits) > _SEARCH_MAX:
            text += f"\n[... more than {_SEARCH_MAX} matches; narrow the search]"
        return text

    # -- writing ---------------------------------------------------------------------------

    async def _guard(self, rel: str) -> str | None:
        """None when ``rel`` may be written now, else the refusal the model sees."""
        if self.run.write_guard is None:
            return None
        try:
            await self.run.write_guard(rel)
        except YuiError as exc:
            return self.refuse(f"write to {rel}", str(exc))
        return None

    async def write_file(self, path: str, content: str) -> str:
        """Create or replace a whole file."""
        try:
            rel = await self.checked(path, for_write=True)
        except Refused as exc:
            return self.refuse(f"write to {path}", str(exc))
        refusal = await self._guard(rel) or await self._store(rel, content)
        if refusal is not None:
            return refusal
        return f"wrote {rel} ({len(content.splitlines())} lines)"

    async def edit_file(self, path: str, old: str, new: str, replace_all: bool = False) -> str:
        """Replace the exact text ``old`` by ``new`` (once, unless ``replace_all``)."""
        try:
            rel = await self.checked(path, for_write=True)
        except Refused as exc:
            return self.refuse(f"edit of {path}", str(exc))
        try:
            text = await self._read_text(rel)
        except (OSError, UnicodeDecodeError, PathOutsideWorkspaceError):
            return f"ERROR: {rel} is not an existing UTF-8 text file (use write_file)"
        count = text.count(old) if old else 0
        if count == 0:
            return f"ERROR: the old text was not found in {rel}; read the file and copy it exactly"
        if count > 1 and not replace_all:
            return (f"ERROR: the old text appears {count} times in {rel}; include more context "
                    "or set replace_all")
        updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
        refusal = await self._guard(rel) or await self._store(rel, updated)
        if refusal is not None:
            return refusal
        return f"edited {rel} ({count if replace_all else 1} replacement(s))"

    async def _read_text(self, rel: str) -> str:
        # Links are followed only while they stay inside the sandbox, whatever a command
        # the model ran did to the tree meanwhile.
        data = await anyio.to_thread.run_sync(safe_fs.read_file, self.root, rel)
        return data.decode("utf-8")

    async def _store(self, rel: str, content: str) -> str | None:
        """Write ``rel`` whole; None when it landed, else the error the model sees."""
        try:
            await anyio.to_thread.run_sync(
                safe_fs.write_file, self.root, rel, content.encode("utf-8")
            )
        except PathOutsideWorkspaceError:
            return self.refuse(f"write to {rel}", f"{rel}: a link that leads outside the sandbox")
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            return f"ERROR: cannot write {rel}: {exc.strerror or exc}"
        self._wrote(rel)
        return None

    def _wrote(self, rel: str) -> None:
        if rel not in self.written:
            self.written.append(rel)
        self.progress.file(rel)
        self._show(f"wrote {rel}")

    # -- commands --------------------------------------------------------------------------

    async def run_command(self, command: str, timeout_s: float | None = None) -> str:
        """Run ``command`` with /bin/sh in the sandbox, confined; its exit code and output."""
        if not command.strip():
            return "ERROR: empty command"
        limit = min(timeout_s or self.config.command_timeout_s, self.config.command_timeout_s)
        self.commands += 1
        self._show(f"$ {command}")
        output: list[str] = []
        size = 0
        cap = self.config.output_cap_chars

        def collect(stream: Stream, raw: bytes) -> None:
            nonlocal size
            line = redact(clean_line(raw, self.run.output_line_max))
            self.sink.line(stream, line)
            if size < cap:
                output.append(line)
                size += len(line) + 1

        spec = ProcessSpec(
            argv=["/bin/sh", "-c", command], cwd=self.run.workdir, env=child_env(self.run),
            confine=confine_request(self.run),
        )
        with anyio.move_on_after(limit) as scope:
            with self.run.liveness.bounded_wait():  # command_timeout_s bounds it
                code = await LocalExecutor(note=self.sink.note).execute(spec, collect)
        text = "\n".join(output)
        if size >= cap:
            text += "\n[... output cut]"
        if scope.cancelled_caught:
            return f"TIMEOUT: the command was stopped after {limit:g} s\n{text}"
        return f"exit code {code}\n{text}"


def _walk(root: Path, rel: str, pattern: str, limit: int) -> list[str]:
    start = root / rel
    if start.is_file():
        return [rel]
    found: list[str] = []
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if fnmatch.fnmatch(name, pattern):
                found.append(Path(folder, name).relative_to(root).as_posix())
                if len(found) >= limit:
                    return found
    return found


def _grep(root: Path, rel: str, regex: re.Pattern[str], glob: str) -> list[str]:
    hits: list[str] = []
    for name in _walk(root, rel, glob, 20_000):
        path = root / name
        try:
            if path.is_symlink() or path.stat().st_size > _SEARCH_FILE_MAX:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if regex.search(line):
                hits.append(f"{name}:{number}: {line[:300]}")
                if len(hits) > _SEARCH_MAX:
                    return hits
    return hits
