"""Start-up: how soon `yui` answers, against `python -c pass` measured in the same run.

Each figure is the median of several runs of a fresh process (wall clock, spawn to exit or
to the answer), with the spread; the baseline is a bare interpreter start of the same
Python. Aims (issue: start like a native CLI): `yui --version` < 0.06 s, `yui status` and
`yui locks` < 0.15 s on an idle repository, the language server answering `initialize`
< 0.3 s. Two context figures: the server ready for work (its first ``yui.listTasks``
answered), and the import of ``lsprotocol.types`` alone, the floor under any pygls server.

    python benchmarks/bench_startup.py [--quick]      # prints the figures as JSON lines
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Figure = dict[str, Any]
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def _quick() -> bool:
    return os.environ.get("YUI_BENCH_QUICK") == "1"


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(SOURCE_ROOT), XDG_CACHE_HOME=str(cache),
                XDG_RUNTIME_DIR=str(cache / "run"))


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read(stream: Any) -> dict[str, Any]:
    length = 0
    while (line := stream.readline().strip()):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if not length:
        raise RuntimeError("the language server closed its output")
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def _answer(server: subprocess.Popen[bytes], wanted: int) -> dict[str, Any]:
    """Read until the answer to request ``wanted``; requests from the server get null."""
    assert server.stdin is not None and server.stdout is not None
    while True:
        message = _read(server.stdout)
        if "method" in message and "id" in message:
            server.stdin.write(_frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
            server.stdin.flush()
        elif message.get("id") == wanted:
            if "result" not in message:
                raise RuntimeError(f"request {wanted} failed: {message}")
            return message


def _language_server(cwd: Path, env: dict[str, str], *, until_ready: bool) -> float:
    """Spawn the language server (stdio) and time its answer to ``initialize`` or, with
    ``until_ready``, to the first ``yui.listTasks`` sent right after ``initialized`` (the
    coordinator of the folder up and answering)."""
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "yui_lsp"], cwd=cwd, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": os.getpid(), "rootUri": cwd.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": cwd.as_uri(), "name": "bench"}]}}))
        server.stdin.flush()
        _answer(server, 1)
        if until_ready:
            ready: list[dict[str, Any]] = [
                {"jsonrpc": "2.0", "method": "initialized", "params": {}},
                {"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                 "params": {"command": "yui.listTasks", "arguments": [{}]}}]
            for message in ready:
                server.stdin.write(_frame(message))
            server.stdin.flush()
            _answer(server, 2)
        elapsed = time.perf_counter() - started
        for message in ({"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
                        {"jsonrpc": "2.0", "method": "exit"}):
            server.stdin.write(_frame(message))
        server.stdin.flush()
        server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return elapsed


def _figure(name: str, values: list[float], baseline: list[float], aim: str) -> Figure:
    value, base = statistics.median(values), statistics.median(baseline)
    return {"name": name, "value": value, "unit": "s", "baseline": base, "ratio": value / base,
            "note": f"median of {len(values)} runs ({min(values):.3f}–{max(values):.3f} s); "
                    f"baseline = `python -c pass` ({min(baseline):.3f}–{max(baseline):.3f} s); "
                    f"aim {aim}"}


def run(quick: bool | None = None) -> list[Figure]:
    """The start-up figures (fewer runs with ``quick``)."""
    quick = _quick() if quick is None else quick
    runs = 3 if quick else 11
    yui = [sys.executable, "-m", "yui_lsp.cli.main"]
    with tempfile.TemporaryDirectory(prefix="yui-start-") as tmp:
        repo, cache = Path(tmp) / "repo", Path(tmp) / "cache"
        repo.mkdir()
        (cache / "run").mkdir(parents=True, mode=0o700)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        env = _env(cache)
        # One warm-up each: the figures are of a warm page cache, as a shell prompt sees.
        cases: list[tuple[str, Callable[[], float], str]] = [
            ("python -c pass", lambda: _timed([sys.executable, "-c", "pass"], repo, env), ""),
            ("yui --version", lambda: _timed([*yui, "--version"], repo, env), "< 0.06 s"),
            ("yui status (idle repository)", lambda: _timed([*yui, "status"], repo, env),
             "< 0.15 s"),
            ("yui locks (idle repository)", lambda: _timed([*yui, "locks"], repo, env),
             "< 0.15 s"),
            ("language server answers initialize",
             lambda: _language_server(repo, env, until_ready=False), "< 0.3 s"),
            ("language server ready: first yui.listTasks answered",
             lambda: _language_server(repo, env, until_ready=True), "none (context)"),
            ("python -c 'import lsprotocol.types' (floor of any pygls server)",
             lambda: _timed([sys.executable, "-c", "import lsprotocol.types"], repo, env),
             "none (context)"),
        ]
        times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _name, measure, _ in cases:
            measure()
        for _ in range(runs):  # interleaved, so a burst of load hits every case alike
            for name, measure, _ in cases:
                times[name].append(measure())
    base = times["python -c pass"]
    return [_figure(name, times[name], base, aim) for name, _, aim in cases[1:]]


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(json.dumps(figure))
