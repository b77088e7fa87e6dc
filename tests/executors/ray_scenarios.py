"""Scenarios on a real Ray cluster, run inside a network namespace by tests/executors/test_ray.py.

``python -m tests.executors.ray_scenarios NAME WORKDIR`` starts a cluster (loopback only),
runs a coordinator against it, and prints one JSON report of what it observed as its last
line; the pytest side asserts on the report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import psutil

from tests.executors.cluster import ADDRESS, REPO, Cluster
from tests.support import git, init_repo, wait_for
from yui_lsp import ParallelTaskManager, Task
from yui_lsp.config import AgentProfile, RayPlacement, Settings
from yui_lsp.errors import YuiError
from yui_lsp.protocol import Message, RefactorSpec, TaskUpdate, WorkspaceEvent

PY = sys.executable
KIRO = str(REPO / "tests" / "fixtures" / "kiro-cli")


def _repo(work: Path) -> Path:
    root = init_repo(work / "repo", {
        "src/a.py": "x = 1\n", "src/b.py": "y = 2\n", "README.md": "# demo\n",
        ".gitignore": ".env\n", "notes.txt": "old words\n",
    })
    (root / ".env").write_text("TOKEN=local-only\n")  # untracked, in sandbox_include
    (root / "README.md").write_text("# demo\nthe user's uncommitted line\n")
    return root


def _settings(work: Path, **extra: Any) -> Settings:
    agents = {
        "kiro-ray": AgentProfile(kind="kiro", ray=RayPlacement(resources={"kiro": 1})),
        "kiro-plain": AgentProfile(kind="kiro", ray=RayPlacement(resources={"plain": 1})),
        "big": AgentProfile(kind="shell", ray=RayPlacement(resources={"gpu-box": 1})),
    }
    return Settings(sandbox_dir=str(work / "sandboxes"), executor="ray", ray_address=ADDRESS,
                    retry_backoff_s=0.05, agents=agents, **extra)


def _py(code: str) -> list[str]:
    return [PY, "-c", code]


class _Watch:
    """What the bus said: each task's node, its 'applied' events and messages."""

    def __init__(self) -> None:
        self.nodes: dict[str, set[str]] = {}
        self.applied: dict[str, int] = {}
        self.messages: dict[str, list[str]] = {}
        self.on_node: Callable[[str, str], None] | None = None

    def __call__(self, message: Message) -> None:
        if isinstance(message, TaskUpdate):
            if message.node and message.node not in self.nodes.setdefault(message.task_id, set()):
                self.nodes[message.task_id].add(message.node)
                if self.on_node is not None:
                    self.on_node(message.task_id, message.node)
            self.messages.setdefault(message.task_id, []).append(message.message)
        elif isinstance(message, WorkspaceEvent) and message.event == "applied":
            self.applied[message.task_id] = self.applied.get(message.task_id, 0) + 1


async def _unreachable(work: Path) -> str:
    root = init_repo(work / "lonely", {"a.txt": "a\n"})
    settings = _settings(work).merged({"ray_address": "127.0.0.1:6390"})
    try:
        async with ParallelTaskManager(root, settings=settings):
            return "connected?"
    except YuiError as exc:
        return str(exc)


async def _e2e(work: Path, cluster: Cluster) -> dict[str, Any]:
    root = _repo(work)
    barrier = work / "barrier"
    barrier.mkdir()
    gate = (
        "import os, sys, time, pathlib\n"
        f"b = pathlib.Path({str(barrier)!r}); name = sys.argv[1]\n"
        "(b / name).touch()\n"
        "end = time.monotonic() + 60\n"
        "while len(list(b.iterdir())) < 3 and time.monotonic() < end: time.sleep(0.05)\n"
        "pathlib.Path('out').mkdir(exist_ok=True)\n"
        "pathlib.Path('out', name + '.txt').write_text(name)\n"
    )
    tasks = [
        Task(id="seen", agent="shell", claims=["out/seen.txt"], command=_py(
            "import pathlib; pathlib.Path('out').mkdir(); pathlib.Path('out/seen.txt')"
            ".write_text(open('README.md').read() + open('.env').read())")),
        Task(id="kiro-a", agent="kiro-ray", claims=["src/a.py", "README.md"],
             prompt="write src/a.py: x = 10\nappend README.md: a line from kiro"),
        Task(id="dep-b", agent="shell", claims=["src/b.py"], depends_on=["kiro-a"],
             command=_py("src = open('src/a.py').read(); open('src/b.py', 'w')"
                         ".write(src + 'y = 20\\n')")),
        Task(id="wide", agent="shell", claims=["out/wide.txt"], command=_py(
            "import pathlib; pathlib.Path('out').mkdir(); pathlib.Path('docs').mkdir();"
            "pathlib.Path('out/wide.txt').write_text('w'); pathlib.Path('docs/new.md')"
            ".write_text('outside the claims, free')")),
        *[Task(id=f"spread-{i}", agent="shell", claims=[f"out/spread-{i}.txt"],
               command=[PY, "-c", gate, f"spread-{i}"]) for i in range(3)],
        Task(id="missing", agent="kiro-plain", prompt="write x.txt: never", claims=["x.txt"]),
        Task(id="too-big", agent="big", command=["true"], claims=["y.txt"]),
        # The exact refactor needs no sandbox: with executor ray too, the coordinator
        # applies it itself and no node sees it.
        Task(id="exact", agent="refactor", claims=["notes.txt"],
             refactor=RefactorSpec(pattern="old", replacement="new")),
    ]
    watch = _Watch()
    async with ParallelTaskManager(root, settings=_settings(work), max_workers=3) as manager:
        manager.bus.add_listener(watch)
        for task in tasks:
            await manager.submit_task(task)
        await manager.wait_for_completion(timeout=240)
        results = {r.task_id: r.model_dump(mode="json") for r in manager.get_results()}
    nodes = {task: sorted(cluster.node_of(n).name for n in shown)
             for task, shown in watch.nodes.items()}
    read = lambda rel: (root / rel).read_text() if (root / rel).exists() else None  # noqa: E731
    return {
        "results": results, "nodes": nodes, "applied": watch.applied,
        "files": {rel: read(rel) for rel in (
            "src/a.py", "src/b.py", "README.md", "out/seen.txt", "out/wide.txt", "docs/new.md",
            *[f"out/spread-{i}.txt" for i in range(3)], "x.txt", "notes.txt")},
        "log": read(".yui/logs/kiro-a.log"),
        "status": git(root, "status", "--porcelain"),
    }


def _agent_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _coordinator_killed(work: Path) -> dict[str, Any]:
    root = init_repo(work / "killed", {"a.txt": "a\n"})
    pidfile = work / "agent.pid"
    code = (f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid()));"
            "time.sleep(300)")
    (root / "plan.toml").write_text(
        f'[[task]]\nid = "doomed"\nagent = "shell"\nclaims = ["a.txt"]\n'
        f"command = {json.dumps(_py(code))}\n")
    (root / ".yui").mkdir()
    (root / ".yui" / "config.toml").write_text(f'sandbox_dir = "{work / "sandboxes2"}"\n')
    coordinator = subprocess.Popen(
        [PY, "-m", "yui_lsp.cli.main", "run", str(root / "plan.toml"), "--root", str(root),
         "--json", "--executor", "ray", "--ray-address", ADDRESS],
        stdout=subprocess.DEVNULL, stderr=(work / "coordinator.err").open("w"), cwd=REPO,
    )
    try:
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "", timeout=90)
    except TimeoutError:
        coordinator.kill()
        raise TimeoutError((work / "coordinator.err").read_text()[-3000:]) from None
    agent = int(pidfile.read_text())
    os.kill(coordinator.pid, signal.SIGKILL)
    coordinator.wait()
    killed = time.monotonic()
    try:
        wait_for(lambda: _agent_gone(agent), timeout=60)
    except TimeoutError:
        return {"agent_gone": False, "after_s": None}
    return {"agent_gone": True, "after_s": round(time.monotonic() - killed, 1)}


async def _cancelled(work: Path) -> dict[str, Any]:
    root = init_repo(work / "cancelled", {"a.txt": "a\n"})
    pidfile = work / "cancelled.pid"
    code = (f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid()));"
            "time.sleep(300)")
    async with ParallelTaskManager(root, settings=_settings(work)) as manager:
        await manager.submit_task(Task(id="stopped", agent="shell", claims=["a.txt"],
                                       command=_py(code)))
        await anyio.to_thread.run_sync(
            lambda: wait_for(lambda: pidfile.exists() and pidfile.read_text() != "", 90))
        agent = int(pidfile.read_text())
        await manager.cancel("stopped")
        await manager.wait_for_completion(timeout=60)
        status = manager.get_results()[0].status.value
    gone = True
    try:
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: _agent_gone(agent), 30))
    except TimeoutError:
        gone = False
    return {"status": status, "agent_gone": gone}


async def _node_killed(work: Path, cluster: Cluster) -> dict[str, Any]:
    root = init_repo(work / "lost", {"a.txt": "a\n"})
    marker = work / "first-attempt"
    code = (
        "import pathlib, time\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "pathlib.Path('landed.txt').write_text('landed\\n')\n"
        "if not m.exists():\n"
        "    m.touch(); time.sleep(120)\n"
    )
    watch = _Watch()
    killed: list[str] = []

    def on_node(task_id: str, node: str) -> None:
        if not killed:
            killed.append(cluster.node_of(node).name)

    watch.on_node = on_node
    async with ParallelTaskManager(root, settings=_settings(work), max_workers=2) as manager:
        manager.bus.add_listener(watch)
        await manager.submit_task(Task(id="survivor", agent="shell", claims=["landed.txt"],
                                       command=_py(code), max_retries=1))
        await anyio.to_thread.run_sync(lambda: wait_for(marker.exists, timeout=90))
        victim = next(n for n in cluster.nodes if n.name == killed[0])
        victim.kill()
        await manager.wait_for_completion(timeout=180)
        result = manager.get_results()[0].model_dump(mode="json")
    return {
        "killed": killed[0],
        "nodes": sorted(cluster.node_of(n).name for n in watch.nodes.get("survivor", set())),
        "result": result, "applied": watch.applied.get("survivor", 0),
        "messages": watch.messages.get("survivor", []),
        "file": (root / "landed.txt").read_text() if (root / "landed.txt").exists() else None,
    }


def main(name: str, work: Path) -> dict[str, Any]:
    kiro_env = {"YUI_KIRO_CLI": KIRO, "KIRO_API_KEY": "node-local-key"}
    if name == "e2e":
        report: dict[str, Any] = {"unreachable": anyio.run(_unreachable, work)}
        with Cluster([("n1", 1, {"kiro": 1}, kiro_env), ("n2", 1, {"plain": 1}, {})]) as c:
            report.update(anyio.run(_e2e, work, c))
        return report
    if name == "faults":
        with Cluster([("n1", 1, {}, {}), ("n2", 1, {}, {})], head_cpus=0) as c:
            report = {"coordinator_killed": _coordinator_killed(work),
                      "cancelled": anyio.run(_cancelled, work)}
            report["node_killed"] = anyio.run(_node_killed, work, c)
        return report
    raise SystemExit(f"unknown scenario {name}")


if __name__ == "__main__":
    out = main(sys.argv[1], Path(sys.argv[2]))
    print(json.dumps(out))
