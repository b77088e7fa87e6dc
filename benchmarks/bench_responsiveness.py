"""Does the language server keep answering while the file system is busy?

``yui.listTasks`` and ``yui.submitTask`` round trips (p50/p99) while another process holds
5,000 leases and eight tasks at a time integrate results of 60 files each, against the same
commands on an idle server measured in the same run (aim: p99 < 20 ms). One call of each
comes first, uncounted: the first call of a command loads the modules behind it.

The client is a plain JSON-RPC client over the server's stdio (``json.loads`` per message):
a lease table of 5,000 records is ~1.4 MB, which pygls' own client takes seconds to turn
into objects, and the figures are about the server, not a client.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_server import _figure, _percentile, _repo  # noqa: E402  (a sibling module, not a package)

Figure = dict[str, Any]

#: Holds ``argv[2]`` leases on ``argv[1]`` as another process would, until stdin closes.
HOLDER = """
import sys
from yui_lsp.workspace import LeaseTable
table = LeaseTable(sys.argv[1], "other-process", 3600)
claims = [f"held/{i:04d}.txt" for i in range(int(sys.argv[2]))]
assert table.try_acquire("held-elsewhere", claims) is not None
print("held", flush=True)
sys.stdin.read()
"""

#: The agent: writes 60 files of 50 lines under out/NAME.
WRITER = """
import pathlib, sys
out = pathlib.Path("out") / sys.argv[1]
out.mkdir(parents=True, exist_ok=True)
for i in range(60):
    (out / f"{i}.txt").write_text(f"{i}\\n" * 50)
"""


def percentile(values: list[float], q: float) -> float:
    return float(_percentile(values, q))


class RawClient:
    """JSON-RPC over the server's stdio: requests, notifications, answers to its requests."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._next = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.task_updates: dict[str, str] = {}
        self._reader = asyncio.create_task(self._read())

    def _send(self, payload: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        self._send({"id": self._next, "method": method, "params": params})
        return await future

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def command(self, name: str, argument: dict[str, Any]) -> Any:
        return await self.request("workspace/executeCommand",
                                  {"command": name, "arguments": [argument]})

    async def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = await stream.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n"):
                    break
            message = json.loads(await stream.readexactly(length))
            if "method" in message and "id" in message:  # the server asks: say yes/nothing
                answer: Any = [None] * len(message["params"].get("items", [])) \
                    if message["method"] == "workspace/configuration" else None
                self._send({"id": message["id"], "result": answer})
            elif "id" in message:
                future = self._waiting.pop(message["id"])
                if "error" in message:
                    future.set_exception(RuntimeError(message["error"].get("message")))
                else:
                    future.set_result(message.get("result"))
            elif message.get("method") == "yui/taskUpdate":
                params = message["params"]
                self.task_updates[params["task_id"]] = params["status"]


async def start_server(root: Path, cache: Path, workers: int) -> RawClient:
    """``python -m yui_lsp`` on ``root``, initialised by a client without applyEdit (results
    land through the journaled apply, as for a client that cannot apply them)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(CHECKOUT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "yui_lsp", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env=env, cwd=str(CHECKOUT), limit=2**24)
    client = RawClient(proc)
    uri = root.as_uri()
    await client.request("initialize", {
        "processId": os.getpid(), "rootUri": uri, "capabilities": {},
        "workspaceFolders": [{"uri": uri, "name": "repo"}],
        "initializationOptions": {"sandboxDir": str(cache / "sandboxes"),
                                  "maxWorkers": workers}})
    client.notify("initialized", {})
    await client.command("yui.listLocks", {})  # answers once the folder is hosted
    return client


async def stop_server(client: RawClient) -> None:
    await client.request("shutdown", None)
    client.notify("exit", None)
    try:
        await asyncio.wait_for(client.proc.wait(), 30)
    except TimeoutError:
        client.proc.kill()


async def _timed_pair(client: RawClient, calls: int, tag: str) -> tuple[list[float], list[float]]:
    listing, submitting = [], []
    for n in range(calls):
        started = time.perf_counter()
        await client.command("yui.listTasks", {})
        listing.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await client.command("yui.submitTask", {
            "title": f"{tag} {n}", "agent": "yui", "claims": [f"{tag}/{n}.txt"],
            "command": [sys.executable, "-c", "pass"]})
        submitting.append((time.perf_counter() - started) * 1000)
    return listing, submitting


async def measure(base: Path, leases: int, rounds: int, calls: int) -> dict[str, list[float]]:
    """Round trips of listTasks and submitTask, idle and under load (milliseconds)."""
    root = _repo(base)
    client = await start_server(root, base / "cache", workers=8)
    try:
        await _timed_pair(client, 1, "warm")  # first calls load their modules: not counted
        idle = await _timed_pair(client, calls, "idle")
        env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), str(leases)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                  text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            ids = []
            for round_ in range(rounds):
                for n in range(8):
                    name = f"r{round_}t{n}"
                    answer = await client.command("yui.submitTask", {
                        "title": name, "agent": "yui", "claims": [f"out/{name}/**"],
                        "command": [sys.executable, "-c", WRITER, name]})
                    ids.append(answer["taskId"])
            busy = await _timed_pair(client, calls, "busy")
            deadline = time.monotonic() + 600
            while any(client.task_updates.get(i) not in ("completed", "failed", "conflict",
                                                          "cancelled") for i in ids):
                if time.monotonic() > deadline:
                    raise TimeoutError("the integrating tasks did not finish")
                await asyncio.sleep(0.1)
            failed = [i for i in ids if client.task_updates[i] != "completed"]
            if failed:
                raise RuntimeError(f"tasks did not complete: {failed}")
        finally:
            holder.communicate("", timeout=30)
    finally:
        await stop_server(client)
    return {"idle_list": idle[0], "idle_submit": idle[1],
            "busy_list": busy[0], "busy_submit": busy[1]}


@contextmanager
def _cores_awake() -> Iterator[None]:
    """One spinning process per core at the lowest priority, for the figures' second set.

    On a virtual machine an idle vCPU is halted, and every hand-off between the server's
    threads (stdin reader, event loop, worker threads, stdout writer) then waits for the host
    to run it again: milliseconds each. Spinners at nice 19 keep the vCPUs running and take
    the CPU only when nothing else wants it. Both sets are measured in the same run.
    """
    spinners = [subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", "while True: pass"])
                for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def run(quick: bool = False) -> list[Figure]:
    """The responsiveness figures (fewer rounds and calls with ``quick``), as the machine is
    and with its cores kept awake (see :func:`_cores_awake`)."""
    leases, rounds, calls = (5000, 1, 20) if quick else (5000, 3, 100)
    figures = []
    for label, condition in (("", nullcontext), (" (cores kept awake)", _cores_awake)):
        with tempfile.TemporaryDirectory(prefix="yui-bench-responsive-") as tmp, condition():
            times = asyncio.run(measure(Path(tmp), leases, rounds, calls))
        note = (f"{leases} leases held by another process, {rounds * 8} tasks integrating "
                "60 files each, 8 at a time; baseline: the same command on the idle server; "
                "aim p99 < 20 ms" + ("; one nice-19 spinning process per core keeps the "
                                     "vCPUs from halting between thread hand-offs"
                                     if label else ""))
        for command, key in (("listTasks", "list"), ("submitTask", "submit")):
            for q in (0.5, 0.99):
                figures.append(_figure(
                    f"server.busy.{command}.p{round(q * 100)}{label}",
                    percentile(times[f"busy_{key}"], q), "ms",
                    percentile(times[f"idle_{key}"], q), note))
    return figures


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure)
