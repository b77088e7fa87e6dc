"""Agents that speak the Agent Client Protocol (``kiro-cli acp``, ``gemini --experimental-acp``,
the Zed adapters of Claude Code and Codex), driven with the ``acp`` SDK's client side.

yui advertises ``fs.readTextFile``/``fs.writeTextFile`` and serves them against the sandbox:
every write is checked to be inside the sandbox and passed through ``run.write_guard`` (the
coordinator's lease check) before it lands, so claims are enforced at write time.
``session/update`` plans and tool calls become progress messages; permission requests are
answered by the profile's ``permission_policy``. Cancelling sends ``session/cancel``, then
ends the process group.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import anyio
from acp import PROTOCOL_VERSION, Client, RequestError, connect_to_agent, text_block
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    FileSystemCapabilities,
    Implementation,
    PermissionOption,
    ReadTextFileResponse,
    RequestPermissionResponse,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    WriteTextFileResponse,
)

from yui_lsp import __version__
from yui_lsp.agents.base import AgentOutcome, AgentRun
from yui_lsp.agents.cli import CliAdapter, command_of, workdir_relative
from yui_lsp.agents.confine import plan_launch
from yui_lsp.agents.output import OutputSink, ProgressReporter
from yui_lsp.agents.reaper import end_marked, marked_env
from yui_lsp.agents.runner import child_env, confine_request, stop_group
from yui_lsp.agents.spawn import Spawned, spawn
from yui_lsp.errors import (
    AgentFailedError,
    AgentUnavailableError,
    PathOutsideWorkspaceError,
    YuiError,
)
from yui_lsp.workspace import ClaimSet, safe_fs

# The SDK's default 64 KiB line limit is too small for whole files in fs/write_text_file.
_STREAM_LIMIT = 50 * 1024 * 1024
_GRACE_S = 3.0


class SandboxClient:
    """The client side of one ACP session: serves files from the sandbox, records progress."""

    def __init__(self, run: AgentRun, sink: OutputSink, progress: ProgressReporter) -> None:
        self.run = run
        self.sink = sink
        self.progress = progress
        self.root = run.workdir.resolve()
        self.written: list[str] = []
        self.refused: list[str] = []
        self.summary = ""

    # -- the protocol's client methods (called by the SDK) --------------------------------

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.run.liveness.mark()
        if isinstance(update, AgentPlanUpdate):
            entries = update.entries
            done = sum(1 for e in entries if e.status == "completed")
            current = next((e for e in entries if e.status != "completed"), None)
            text = f"plan {done}/{len(entries)}" + (f": {current.content}" if current else "")
            self._show(text, step=False)
        elif isinstance(update, ToolCallStart):
            self._show(update.title, step=True)
        elif isinstance(update, ToolCallProgress):
            if update.title or update.status in ("completed", "failed"):
                title = update.title or f"tool call {update.tool_call_id}"
                self._show(f"{title} ({update.status})" if update.status else title, step=False)
        elif isinstance(update, AgentMessageChunk) and isinstance(
            update.content, TextContentBlock
        ):
            self.summary += update.content.text

    async def read_text_file(
        self, session_id: str, path: str, line: int | None = None, limit: int | None = None,
        **_: Any,
    ) -> ReadTextFileResponse:
        rel = self._inside(path, "read")
        try:
            data = await anyio.to_thread.run_sync(safe_fs.read_file, self.root, rel)
            text = data.decode("utf-8")
        except FileNotFoundError:
            raise RequestError.resource_not_found(path) from None
        except PathOutsideWorkspaceError as exc:
            raise self._refuse(path, "read", str(exc)) from None
        except (UnicodeDecodeError, IsADirectoryError, NotADirectoryError) as exc:
            raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
        if line is not None or limit is not None:
            lines = text.splitlines(keepends=True)
            start = max((line or 1) - 1, 0)
            text = "".join(lines[start : start + limit if limit is not None else None])
        self.run.liveness.mark()
        return ReadTextFileResponse(content=text)

    async def write_text_file(
        self, session_id: str, path: str, content: str, **_: Any
    ) -> WriteTextFileResponse:
        rel = self._inside(path, "write")
        try:
            # Claims and protected folders are checked where the write really goes.
            rel = await anyio.to_thread.run_sync(safe_fs.resolve, self.root, rel)
        except PathOutsideWorkspaceError as exc:
            raise self._refuse(path, "write", str(exc)) from None
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
        if self.run.write_guard is not None:
            try:
                await self.run.write_guard(rel)
            except YuiError as exc:
                self.refused.append(rel)
                self.sink.note(f"refused write to {rel}: {exc}")
                raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
        try:
            await anyio.to_thread.run_sync(
                safe_fs.write_file, self.root, rel, content.encode("utf-8")
            )
        except PathOutsideWorkspaceError as exc:
            raise self._refuse(path, "write", str(exc)) from None
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise RequestError.invalid_params({"path": path, "reason": str(exc)}) from None
        if rel not in self.written:
            self.written.append(rel)
        self.progress.file(rel)
        self._show(f"wrote {rel}", step=True)
        return WriteTextFileResponse()

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption],
        **_: Any,
    ) -> RequestPermissionResponse:
        allow = self._allowed(tool_call)
        wanted = ("allow_once", "allow_always") if allow else ("reject_once", "reject_always")
        choice = next((o for o in options if o.kind in wanted), None)
        self.sink.note(
            f"permission {'granted' if allow else 'refused'}: {tool_call.title or 'tool call'}"
        )
        if choice is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=choice.option_id)
        )

    # -- policy and paths ----------------------------------------------------------------

    def _allowed(self, tool_call: ToolCallUpdate) -> bool:
        policy = self.run.profile.permission_policy
        if policy == "reject":
            return False
        paths = [loc.path for loc in tool_call.locations or []]
        raw = tool_call.raw_input if isinstance(tool_call.raw_input, dict) else {}
        paths += [v for k, v in raw.items() if k in ("path", "file_path") and isinstance(v, str)]
        rels = [workdir_relative(self.run, p) for p in paths]
        if any(rel is None for rel in rels):
            return False  # never outside the sandbox, whatever the policy
        claims = self.run.task.claims
        if policy == "allow" or not claims or tool_call.kind in ("read", "search", "think"):
            return True
        claimed = ClaimSet(claims)
        return all(claimed.covers(rel) for rel in rels if rel is not None)

    def _inside(self, path: str, what: str) -> str:
        rel = workdir_relative(self.run, path) if Path(path).is_absolute() else None
        if rel is None or rel in ("", "."):
            self.refused.append(path)
            self.sink.note(f"refused {what} of {path}: outside the sandbox")
            raise RequestError.invalid_params(
                {"path": path, "reason": "outside the task's sandbox (absolute paths inside "
                 "the session cwd only)"}
            )
        return rel

    def _refuse(self, path: str, what: str, why: str) -> RequestError:
        self.refused.append(path)
        self.sink.note(f"refused {what} of {path}: {why}")
        return RequestError.invalid_params({"path": path, "reason": why})

    def _show(self, text: str, *, step: bool) -> None:
        self.sink.line("stdout", text)
        self.progress.activity(text, step=step)


class AcpAdapter(CliAdapter):
    """Any ACP agent (kinds ``acp`` and ``kiro-acp``)."""

    def __init__(self, kind: str = "acp") -> None:
        self.kind = kind

    async def run(self, run: AgentRun) -> AgentOutcome:
        argv = [*command_of(run.profile), *run.profile.args]
        name = Path(argv[0]).name
        progress = ProgressReporter(run)
        started = time.monotonic()
        with OutputSink(run) as sink:
            env, mark = marked_env(child_env(run))
            try:
                # ACP serves file writes itself, but the agent process could still write the
                # workspace directly: it is confined like every other agent.
                launch = await plan_launch(confine_request(run), argv, env, run.workdir)
                if launch.note is not None:
                    sink.note(launch.note)
                process = await spawn(launch.argv, cwd=run.workdir, env=env, stdin=True,
                                      limit=_STREAM_LIMIT)
            except (FileNotFoundError, PermissionError) as exc:
                raise AgentUnavailableError(
                    f"cannot start {name}: {exc.strerror or exc} ({argv[0]})"
                ) from None
            client = SandboxClient(run, sink, progress)
            assert process.stdin is not None and process.stdout is not None
            # SandboxClient implements the methods yui advertises, not the whole Protocol.
            conn = connect_to_agent(cast(Client, client), process.stdin, process.stdout)
            session = _Session(run, name, conn, process, sink, progress)
            try:
                stop_reason = await session.drive()
            finally:
                with anyio.CancelScope(shield=True):
                    await session.close()
                    await anyio.to_thread.run_sync(end_marked, mark, run.workdir)
            progress.flush()
        if stop_reason != "end_turn":
            raise AgentFailedError(
                f"{name} stopped its turn early ({stop_reason}); see `yui logs` for details"
            )
        metrics = {
            "duration_s": round(time.monotonic() - started, 3),
            "files_written": float(len(client.written)),
        }
        if client.refused:
            metrics["refused"] = float(len(client.refused))
        return AgentOutcome(files_reported=client.written, summary=client.summary, metrics=metrics)


class KiroAcpAdapter(AcpAdapter):
    """Kiro CLI over ACP (kind ``kiro-acp``): the ACP client, started as ``kiro-cli acp``."""

    def __init__(self) -> None:
        super().__init__("kiro-acp")


class _Session:
    """One ACP session over one agent process, with cancellation (its time limits are the
    attempt's, enforced around the adapter: :mod:`yui_lsp.agents.limits`)."""

    def __init__(self, run: AgentRun, name: str, conn: Any, process: Spawned,
                 sink: OutputSink, progress: ProgressReporter) -> None:
        self.run, self.name, self.conn, self.process = run, name, conn, process
        self.sink, self.progress = sink, progress
        self.session_id: str | None = None
        self.finished = False
        self.exited = False

    async def drive(self) -> str:
        stop_reason: str | None = None
        failure: YuiError | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(self._pump_stderr)
            group.start_soon(self._watch_exit, group.cancel_scope)
            try:
                stop_reason = await self._converse()
            except RequestError as exc:
                failure = AgentFailedError(f"{self.name} returned an error: {exc} "
                                           f"{exc.data or ''}".strip())
            except (ConnectionError, EOFError, BrokenPipeError) as exc:
                failure = AgentFailedError(f"{self.name} closed the connection: {exc}")
                # Usually the agent died: say so, with its exit code, if it did.
                with anyio.move_on_after(1.0):
                    await self.process.wait()
                self.exited = self.process.returncode is not None
            self.finished = True
            group.cancel_scope.cancel()
        if failure is not None and not self.exited:
            raise failure
        if self.exited or stop_reason is None:
            code = self.process.returncode
            raise AgentFailedError(
                f"{self.name} exited (code {code}) before finishing its turn: "
                f"{self.sink.last('stderr') or 'no output'}"
            )
        return stop_reason

    async def _converse(self) -> str:
        init = await self.conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=True, write_text_file=True),
                terminal=False,
            ),
            client_info=Implementation(name="yui-lsp", version=__version__),
        )
        self.sink.note(f"ACP protocol version {init.protocol_version}")
        session = await self.conn.new_session(cwd=str(self.run.workdir.resolve()), mcp_servers=[])
        self.session_id = session.session_id
        response = await self.conn.prompt(
            session_id=session.session_id, prompt=[text_block(self.run.task.prompt)]
        )
        return str(response.stop_reason)

    async def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        while True:
            try:
                line = await self.process.stderr.readline()
            except ValueError:  # a line beyond the stream limit: skip it
                continue
            if not line:
                return
            self.sink.line("stderr", line)

    async def _watch_exit(self, scope: anyio.CancelScope) -> None:
        await self.process.wait()
        # Let the last responses in flight arrive before calling it a crash.
        await anyio.sleep(0.5)
        if not self.finished:
            self.exited = True
            scope.cancel()

    async def close(self) -> None:
        """Cancel the session if it is still running, then end the process group."""
        if not self.finished and self.session_id and self.process.returncode is None:
            with anyio.move_on_after(1.0):
                await self.conn.cancel(session_id=self.session_id)
                await anyio.sleep(0.2)  # give the agent a moment to stop cleanly
        with anyio.move_on_after(1.0):
            await self.conn.close()
        await stop_group(self.process, _GRACE_S)
        await self.process.aclose()
