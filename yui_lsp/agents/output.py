"""What an agent prints, made safe to show: cleaned lines, the size-capped log, progress.

:class:`OutputSink` is the one place agent output goes through, whichever way the agent was
started (the subprocess runner, the ACP client's stderr): every line is decoded, stripped of
terminal escapes and control bytes, capped in length, redacted, appended to the run's log and
emitted as an :class:`~yui_lsp.protocol.AgentOutput` message. :class:`ProgressReporter` turns
"latest activity" into rate-limited ``running`` task updates.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import deque
from pathlib import Path
from typing import IO, Literal

from yui_lsp.agents.base import AgentRun
from yui_lsp.protocol import AgentOutput, TaskStatus, TaskUpdate
from yui_lsp.redact import redact

Stream = Literal["stdout", "stderr"]

# CSI / OSC / single-char escape sequences as emitted by terminal UIs and spinners.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS/SOS/PM/APC strings
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

#: Lines emitted as messages per run; past this, lines are still logged but not broadcast,
#: so an agent flooding its output cannot flood the bus.
EMIT_LINE_BUDGET = 5000


def decode_line(raw: bytes | str) -> str:
    """A raw line as text for parsers: UTF-8 (invalid bytes replaced), escapes stripped.

    Not capped and not redacted: JSON events must stay whole to parse.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return _ANSI.sub("", text.rstrip("\r\n"))


def clean_line(raw: bytes | str, max_chars: int) -> str:
    """One printable line: decoded, ANSI stripped, controls escaped, capped at ``max_chars``."""
    # Cap before the regexes run, so a multi-megabyte line costs no more than a long one.
    budget = max_chars * 4 + 64
    dropped = max(0, len(raw) - budget)
    raw = raw[:budget]
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    # A carriage return redraws the line in a terminal: keep what was drawn last.
    if "\r" in text:
        text = text.rsplit("\r", 1)[-1] or text.replace("\r", "")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text.replace("\t", "    "))
    if len(text) > max_chars or dropped:
        cut = len(text) - max_chars + dropped
        text = f"{text[:max_chars]}… [{cut} more chars]"
    return text


class OutputSink:
    """Receives an agent's output lines; logs, emits and remembers the last few of each stream."""

    def __init__(self, run: AgentRun, tail_lines: int = 40, *, header: bool = True) -> None:
        self._run = run
        self._header = header
        self._log: IO[str] | None = None
        self._log_bytes = 0
        self._log_full = False
        self._emitted = 0
        self.lines_seen = 0
        self.tails: dict[Stream, deque[str]] = {
            "stdout": deque(maxlen=tail_lines),
            "stderr": deque(maxlen=tail_lines),
        }

    def __enter__(self) -> OutputSink:
        if self._run.log_path is not None:
            path = Path(self._run.log_path)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._log_bytes = path.stat().st_size if path.exists() else 0
            # Owner-only: a log holds the prompt and the agent's output.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            os.fchmod(fd, 0o600)
            # Line-buffered: editors follow the log live (yui.taskLog, yui logs -f).
            self._log = os.fdopen(fd, "a", encoding="utf-8", errors="replace", buffering=1)
            if self._header:
                self._write_log(f"--- attempt {self._run.attempt} of task {self._run.task.id}\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def line(self, stream: Stream, raw: bytes | str) -> str:
        """Record one raw line; returns it cleaned (and redacted) for parsers."""
        text = redact(clean_line(raw, self._run.output_line_max))
        self.lines_seen += 1
        self._run.liveness.mark()
        self.tails[stream].append(text)
        self._write_log(f"[{stream}] {text}\n")
        if self._emitted < EMIT_LINE_BUDGET:
            self._emitted += 1
            shown = text
            if self._emitted == EMIT_LINE_BUDGET:
                shown = "[yui: output continues; further lines only in the task log]"
            self._run.emit(
                AgentOutput(
                    task_id=self._run.task.id, agent_id=self._run.agent_id, stream=stream,
                    line=shown,
                )
            )
        return text

    def note(self, text: str) -> None:
        """A line from yui itself about this run (logged and emitted as stderr)."""
        self.line("stderr", f"[yui] {text}")

    def last(self, stream: Stream, count: int = 3) -> str:
        """The last ``count`` non-empty lines of ``stream``, joined for an error message."""
        lines = [ln for ln in self.tails[stream] if ln.strip()]
        return " | ".join(lines[-count:])

    def _write_log(self, text: str) -> None:
        if self._log is None or self._log_full:
            return
        size = len(text.encode("utf-8", errors="replace"))
        if self._log_bytes + size > self._run.log_max_bytes:
            self._log_full = True
            self._log.write("[yui] log size limit reached; further output not kept\n")
        else:
            self._log_bytes += size
            self._log.write(text)
        self._log.flush()


class ProgressReporter:
    """Rate-limited ``running`` updates with a rising progress estimate and latest activity.

    Agents don't say how far along they are, so progress is an estimate that rises with time
    and with observed steps, approaching (never reaching) 0.95; completion is the coordinator's
    to announce.
    """

    def __init__(self, run: AgentRun, expected_s: float = 120.0) -> None:
        self._run = run
        self._start = time.monotonic()
        self._expected_s = expected_s
        self._last_sent = -math.inf
        self._steps = 0
        self._pending = False
        self.progress = 0.0
        self.message = ""
        self.files: list[str] = []
        # The attempt's idle watch flushes what the rate limit held back.
        run.liveness.reporters.append(self)

    def activity(self, message: str, *, step: bool = False, force: bool = False) -> None:
        """Note the latest activity; emits at most once per ``run.progress_interval_s``."""
        if message:
            self.message = message[:200]
        if step:
            self._steps += 1
        now = time.monotonic()
        elapsed = now - self._start
        estimate = 0.95 * (1 - math.exp(-(elapsed / self._expected_s + self._steps / 8)))
        self.progress = max(self.progress, round(estimate, 3))
        if not force and now - self._last_sent < self._run.progress_interval_s:
            self._pending = True
            return
        self._send(now)

    def flush(self) -> None:
        """Send the latest activity if a rate-limited update is still pending."""
        if self._pending:
            self._send(time.monotonic())

    def _send(self, now: float) -> None:
        self._pending = False
        self._last_sent = now
        self._run.emit(
            TaskUpdate(
                agent_id=self._run.agent_id, task_id=self._run.task.id,
                status=TaskStatus.RUNNING, progress=self.progress,
                files_modified=list(self.files), title=self._run.task.display_title,
                agent=self._run.task.agent, message=self.message,
            )
        )

    def file(self, rel_path: str) -> None:
        """Note a file the agent says it touched."""
        if rel_path not in self.files:
            self.files.append(rel_path)
