"""The subprocess runner every CLI adapter uses.

Two layers, so where an agent runs can change without touching the adapters:

* :class:`Executor` starts one process from a :class:`ProcessSpec`, delivers its output line
  by line and returns its exit code; on cancellation it ends the whole process tree and reaps
  it before letting the cancellation through. :class:`LocalExecutor` does that with a local
  process group; a remote executor (a Ray cluster) can take its place later.
* :func:`run_agent_process` wraps an executor with what every agent run needs: the child's
  environment, cleaned/logged/emitted output (each line a sign of life) and clear errors.
  Time limits are not enforced here but around the whole adapter (:mod:`.limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.cmdline import check_command_line
from yui_lsp.agents.confine import ConfineRequest, plan_launch
from yui_lsp.agents.output import OutputSink, ProgressReporter, Stream, decode_line
from yui_lsp.agents.reaper import end_marked, marked_env
from yui_lsp.agents.spawn import Spawned, spawn
from yui_lsp.errors import AgentUnavailableError, YuiError

#: Called with each raw output line (without its newline). May raise to abort the run.
RawLineHandler = Callable[[Stream, bytes], None]
#: Called with each line for adapters' parsers: decoded and ANSI-free, but neither capped
#: nor redacted (so JSON events parse); never log or show it as is.
LineHandler = Callable[[Stream, str], None]

# A line longer than this without a newline is cut and delivered anyway, so a flood of
# bytes with no newline cannot grow memory without bound. Large enough for one JSON event
# carrying a whole file (a Write tool call).
MAX_LINE_BYTES = 16 * 1024 * 1024
#: Most bytes one read of an agent's output takes.
READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class ProcessSpec:
    """One process to run: argv only (never a shell), its cwd, full env and optional stdin."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    #: Bytes written to stdin, which is then closed; None = stdin is /dev/null.
    stdin: bytes | None = None
    #: What the process may not write (the user's workspace); None = unconfined.
    confine: ConfineRequest | None = None


class Executor(Protocol):
    """Where agent processes run."""

    async def execute(self, spec: ProcessSpec, on_line: RawLineHandler) -> int:
        """Run ``spec`` to its exit, delivering output lines; return the exit code.

        If ``on_line`` raises or the caller is cancelled, the process and everything it
        started are ended (SIGTERM, then SIGKILL after a grace period) and reaped first.
        ``spec.confine`` is honoured (or AgentUnavailableError raised when it must be and
        cannot be).
        """
        ...


class LocalExecutor:
    """Runs agents as local subprocesses, each in its own process group (session).

    A spec with ``confine`` runs under bubblewrap (see :mod:`yui_lsp.agents.confine`); bwrap
    leads the process group, so group signals still reach the agent and all it started.
    Whatever left the group (``setsid``, double fork) is ended by :mod:`.reaper` afterwards.
    """

    def __init__(
        self,
        grace_s: float = 3.0,
        drain_s: float = 2.0,
        note: Callable[[str], None] | None = None,
    ) -> None:
        #: Time between SIGTERM and SIGKILL.
        self.grace_s = grace_s
        #: After the main process exits, how long its children may keep the pipes open.
        self.drain_s = drain_s
        #: Told when a run is less confined than asked (e.g. bwrap missing in mode auto).
        self.note = note

    async def execute(self, spec: ProcessSpec, on_line: RawLineHandler) -> int:
        launch = await plan_launch(spec.confine, spec.argv, spec.env, spec.cwd)
        if launch.note is not None and self.note is not None:
            self.note(launch.note)
        env, mark = marked_env(spec.env)
        process = await spawn(launch.argv, cwd=spec.cwd, env=env, stdin=spec.stdin is not None)
        try:
            async with anyio.create_task_group() as tg:
                drained: list[anyio.Event] = []
                streams: tuple[tuple[asyncio.StreamReader, Stream], ...] = (
                    (process.stdout, "stdout"), (process.stderr, "stderr"),
                )
                for stream, name in streams:
                    drained.append(anyio.Event())
                    tg.start_soon(_read_lines, stream, name, on_line, drained[-1])
                if process.stdin is not None and spec.stdin is not None:
                    await _feed_stdin(process, spec.stdin)
                code = await process.wait()
                # Grandchildren may still hold the pipes open: give them a moment to finish
                # writing, then end the group so the readers see EOF.
                with anyio.move_on_after(self.drain_s):
                    for event in drained:
                        await event.wait()
                _signal_group(process.pid, signal.SIGKILL)
                if not all(event.is_set() for event in drained):
                    # Whoever still holds the pipes left the group (setsid, double fork).
                    await anyio.to_thread.run_sync(end_marked, mark, spec.cwd)
            return _unwrapped_exit(code) if launch.confined else code
        finally:
            with anyio.CancelScope(shield=True):
                await self._end(process)
                await anyio.to_thread.run_sync(end_marked, mark, spec.cwd)

    async def _end(self, process: Spawned) -> None:
        await stop_group(process, self.grace_s)
        await process.aclose()


def _unwrapped_exit(code: int) -> int:
    # bwrap reports an agent killed by signal N as exit 128+N, like a shell: map it back to
    # the negative code a direct child would give, so "killed by SIGKILL" stays readable.
    if code > 128:
        with contextlib.suppress(ValueError):
            return -signal.Signals(code - 128).value
    return code


class GroupLeader(Protocol):
    """A started process that leads its own process group (anyio's or asyncio's Process)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


async def stop_group(process: GroupLeader, grace_s: float) -> None:
    """End ``process`` and its whole group: SIGTERM, SIGKILL after ``grace_s``; then reap.

    Call it shielded from cancellation; it returns once the leader is reaped.
    """
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with anyio.move_on_after(grace_s):
            await process.wait()
    # Always sweep the group: the leader may be gone while its children live on.
    _signal_group(process.pid, signal.SIGKILL)
    if process.returncode is None:
        await process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _feed_stdin(process: Spawned, data: bytes) -> None:
    stdin = process.stdin
    assert stdin is not None
    # An agent that exits without reading its prompt is not our failure to report here.
    with contextlib.suppress(OSError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(OSError):
        stdin.close()


async def _read_lines(
    stream: asyncio.StreamReader, name: Stream, on_line: RawLineHandler, done: anyio.Event
) -> None:
    pending = b""
    try:
        while True:
            try:
                chunk = await stream.read(READ_CHUNK)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                on_line(name, line)
            while len(pending) > MAX_LINE_BYTES:
                on_line(name, pending[:MAX_LINE_BYTES])
                pending = pending[MAX_LINE_BYTES:]
        if pending:
            on_line(name, pending)
    finally:
        done.set()


# --------------------------------------------------------------------------- the runner


@dataclass
class ProcessOutcome:
    """How an agent process ended (only returned when it ended by itself)."""

    exit_code: int
    duration_s: float
    sink: OutputSink


def child_env(run: AgentRun) -> dict[str, str]:
    """The agent's environment: ours, plus the profile's, plus the run's."""
    return {**os.environ, **run.profile.env, **run.env}


def confine_request(run: AgentRun) -> ConfineRequest:
    """What the run's agent may not write: the workspace, per the profile's ``confine``."""
    return ConfineRequest(
        mode=run.profile.confine or "auto", workspace=run.workspace_root, sandbox=run.workdir,
        protected=run.protected,
    )


async def run_agent_process(
    run: AgentRun,
    argv: Sequence[str],
    *,
    on_line: LineHandler | None = None,
    stdin: bytes | None = None,
    progress: ProgressReporter | None = None,
    executor: Executor | None = None,
) -> ProcessOutcome:
    """Run one agent process for ``run`` with output handling and clear errors.

    Raises AgentUnavailableError when the executable cannot be started; exceptions raised by
    ``on_line`` (a parser that saw a fatal line) end the process and propagate. The run's
    time limits are enforced around the adapter (:mod:`yui_lsp.agents.limits`), which
    cancels this call; every output line is a sign of life for it.
    """
    name = Path(argv[0]).name
    spec = ProcessSpec(
        argv=list(argv), cwd=run.workdir, env=child_env(run), stdin=stdin,
        confine=confine_request(run),
    )
    check_command_line(name, spec.argv, spec.env)
    started = time.monotonic()
    abort: YuiError | None = None
    exit_code: int | None = None

    with OutputSink(run) as sink:
        executor = executor or LocalExecutor(note=sink.note)

        def deliver(stream: Stream, raw: bytes) -> None:
            nonlocal abort
            shown = sink.line(stream, raw)
            if abort is not None:
                return
            if on_line is None:
                if progress is not None and shown.strip():
                    progress.activity(shown)
                return
            try:
                on_line(stream, decode_line(raw))
            except YuiError as exc:
                # A parser saw a fatal line (e.g. a login prompt): stop the agent now and
                # raise the parser's error once the process group is gone.
                abort = exc
                scope.cancel()

        with anyio.CancelScope() as scope:
            try:
                exit_code = await executor.execute(spec, deliver)
            except (FileNotFoundError, PermissionError) as exc:
                abort = AgentUnavailableError(
                    f"cannot start {name}: {exc.strerror or exc} ({argv[0]})"
                )
                sink.note(str(abort))  # `yui logs` shows why, not only the header
            except AgentUnavailableError as exc:
                abort = exc
                sink.note(str(abort))

        duration = time.monotonic() - started
        if progress is not None:
            progress.flush()
        if abort is not None:
            raise abort
        assert exit_code is not None  # only a fatal line cancels the scope
        return ProcessOutcome(exit_code=exit_code, duration_s=duration, sink=sink)
