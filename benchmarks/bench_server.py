"""Language server figures, measured against the real server process over stdio.

* ``workspace/executeCommand`` round trip (p50/p99) of ``yui.listTasks`` (every task, the
  default compact form; and one page of 50) and ``yui.submitTask`` while 500 tasks wait in
  the queue, against a no-op request (``textDocument/codeLens`` of a file no lease covers)
  measured in the same run; plus the size of the listing, compact against ``verbose``;
* latency from an agent printing a line to the client receiving it as ``$/progress``
  (target p99 < 50 ms), against the same no-op round trip.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
Figure = dict[str, Any]

#: The agent: prints a stamped line every 20 ms.
STAMPER = """
import sys, time
for i in range(int(sys.argv[1])):
    print(f"stamp {time.time():.6f}", flush=True)
    time.sleep(0.02)
"""


def _quick() -> bool:
    return os.environ.get("YUI_BENCH_QUICK") == "1"


def _figure(name: str, value: float, unit: str, baseline: float | None, note: str) -> Figure:
    ratio = round(value / baseline, 2) if baseline else None
    return {"name": name, "value": round(value, 3), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3), "ratio": ratio,
            "note": note}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _repo(base: Path) -> Path:
    root = base / "repo"
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "b@example.com"],
                 ["config", "user.name", "b"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "a.txt").write_text("a\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True)
    return root


def _plain(value: Any) -> Any:
    """JSON data as dicts and lists (the client hands objects over as named tuples)."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _size_kb(value: Any) -> float:
    return len(json.dumps(_plain(value))) / 1024


def _field(value: Any, name: str) -> Any:
    """A field of a JSON object the client handed over as a dict or a named tuple."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


class BenchClient:
    """A minimal editor: answers the server's requests and timestamps progress."""

    def __init__(self) -> None:
        self.client = LanguageClient("yui-bench", "1")
        self.progress: list[tuple[float, str]] = []
        self.ended: set[str] = set()
        client = self.client

        @client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: lsp.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(lsp.PROGRESS)
        def progress(params: lsp.ProgressParams) -> None:
            message = _field(params.value, "message") or ""
            if _field(params.value, "kind") == "end":
                self.ended.add(str(params.token))
            self.progress.append((time.time(), str(message)))

        @client.feature(lsp.WORKSPACE_CONFIGURATION)
        def configuration(params: lsp.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]

        @client.feature("yui/taskUpdate")
        def task_update(params: Any) -> None:
            return None

        for method in ("yui/locksChanged", "yui/agentOutput", "yui/workspaceEvent",
                       "yui/taskMetrics", "yui/taskConflict",
                       lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS):
            client.feature(method)(lambda params: None)

    async def start(self, root: Path, cache: Path) -> None:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(CHECKOUT)}
        await self.client.start_io(sys.executable, "-m", "yui_lsp", env=env, cwd=str(CHECKOUT))
        uri = str(from_fs_path(str(root)))
        await self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(
                window=lsp.WindowClientCapabilities(work_done_progress=True),
                workspace=lsp.WorkspaceClientCapabilities(apply_edit=True, configuration=True)),
            root_uri=uri, workspace_folders=[lsp.WorkspaceFolder(uri=uri, name="repo")],
            initialization_options={"sandboxDir": str(cache / "sandboxes"), "maxWorkers": 1}))
        self.client.initialized(lsp.InitializedParams())

    async def command(self, name: str, argument: dict[str, Any]) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=[argument]))

    async def ping(self, uri: str) -> None:
        await self.client.text_document_code_lens_async(
            lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def _timed(calls: int, call: Any) -> list[float]:
    # The client is Python too: keep its own collector's full passes over its start-up heap
    # (pygls, lsprotocol) out of the server's figures.
    gc.collect()
    gc.freeze()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _measure(base: Path, queued: int, calls: int, lines: int) -> list[Figure]:
    root = _repo(base)
    bench = BenchClient()
    await bench.start(root, base / "cache")
    try:
        ping_uri = str(from_fs_path(str(root / "a.txt")))
        await bench.command("yui.listLocks", {})  # waits until the folder is hosted
        ping = await _timed(calls, lambda: bench.ping(ping_uri))
        ping_p50, ping_p99 = _percentile(ping, 0.5), _percentile(ping, 0.99)

        # Latency of an output line first, while nothing else is queued.
        answer = await bench.command("yui.submitTask", {
            "title": "stamper", "agent": "yui",
            "command": [sys.executable, "-c", STAMPER, str(lines)]})
        deadline = time.monotonic() + 60
        task_id = _field(answer, "taskId")
        while not any(t.startswith(f"yui/{task_id}/") for t in bench.ended):
            if time.monotonic() > deadline:
                raise TimeoutError("the stamper task did not finish")
            await asyncio.sleep(0.05)
        latencies = [(arrived - float(message.split()[1])) * 1000
                     for arrived, message in bench.progress if message.startswith("stamp ")]

        # One long task holds the single worker; everything after it waits in the queue.
        await bench.command("yui.submitTask", {"title": "blocker", "agent": "yui",
                                               "command": [sys.executable, "-c",
                                                           "import time; time.sleep(600)"]})
        for index in range(queued):
            await bench.command("yui.submitTask", {
                "title": f"queued {index}", "agent": "yui",
                "command": [sys.executable, "-c", "pass"]})
        listing = await _timed(calls, lambda: bench.command("yui.listTasks", {}))
        page = await _timed(calls, lambda: bench.command("yui.listTasks", {"limit": 50}))
        compact = await bench.command("yui.listTasks", {})
        listed, compact_kb = len(_field(compact, "tasks")), _size_kb(compact)
        verbose_kb = _size_kb(await bench.command("yui.listTasks", {"verbose": True}))
        counter = iter(range(10**6))
        submitting = await _timed(calls, lambda: bench.command("yui.submitTask", {
            "title": f"more {next(counter)}", "agent": "yui",
            "command": [sys.executable, "-c", "pass"]}))
    finally:
        await bench.stop()

    note_q = f"{queued} tasks queued; baseline: no-op request round trip, same run"
    figures = [
        _figure("server.execute_command.listTasks.p50", _percentile(listing, 0.5), "ms",
                ping_p50, note_q),
        _figure("server.execute_command.listTasks.p99", _percentile(listing, 0.99), "ms",
                ping_p99, note_q + "; aim < 20 ms"),
        _figure("server.execute_command.listTasks_page50.p50", _percentile(page, 0.5), "ms",
                ping_p50, note_q + "; {limit: 50}"),
        _figure("server.execute_command.listTasks_page50.p99", _percentile(page, 0.99), "ms",
                ping_p99, note_q + "; {limit: 50}; aim < 20 ms"),
        _figure("server.list_tasks.payload", compact_kb, "KiB", verbose_kb,
                f"{listed} tasks, default compact form; baseline: verbose "
                "(with prompts and commands)"),
        _figure("server.execute_command.submitTask.p50", _percentile(submitting, 0.5), "ms",
                ping_p50, note_q),
        _figure("server.execute_command.submitTask.p99", _percentile(submitting, 0.99), "ms",
                ping_p99, note_q + "; aim < 20 ms"),
    ]
    if latencies:
        note = (f"{len(latencies)} lines, agent print -> client $/progress; "
                "baseline: no-op round trip; aim p99 < 50 ms")
        figures += [
            _figure("server.output_to_progress.p50", statistics.median(latencies), "ms",
                    ping_p50, note),
            _figure("server.output_to_progress.p99", _percentile(latencies, 0.99), "ms",
                    ping_p99, note),
        ]
    return figures


def run(quick: bool | None = None) -> list[Figure]:
    """The server figures (fewer tasks and calls with ``quick``)."""
    quick = _quick() if quick is None else quick
    queued, calls, lines = (50, 30, 20) if quick else (500, 200, 100)
    with tempfile.TemporaryDirectory(prefix="yui-bench-server-") as tmp:
        return asyncio.run(_measure(Path(tmp), queued, calls, lines))


if __name__ == "__main__":
    for figure in run():
        print(figure)
