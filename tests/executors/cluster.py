"""A real Ray cluster of several nodes on loopback, for tests and benchmarks.

Only use it inside a network namespace of the caller's own (see :func:`run_in_netns`): there
only loopback exists, so Ray binds 127.0.0.1 and probes nothing outside. Every node has its
own ``--temp-dir``, its own yui node cache (``YUI_NODE_CACHE``) and its own environment (the
place for an agent's credentials); nodes are ended by the pids of their processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
PORT = 6379
ADDRESS = f"127.0.0.1:{PORT}"
# The cluster notices a dead node within a few seconds instead of the default ~30.
_FAST_HEALTH = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4",
                "RAY_health_check_initial_delay_ms": "500"}


def run_in_netns(argv: list[str], *, timeout: float, env: Mapping[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in new network and pid namespaces with loopback up.

    When ``argv`` ends, the kernel ends every process left in its pid namespace (the whole
    cluster, and any agent), so nothing outlives the test.
    """
    script = 'ip link set lo up && exec "$@"'
    return subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
         "sh", "-c", script, "sh", *argv],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})},
    )


def netns_available() -> str | None:
    """Why the cluster tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root for unshare --net"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path(RAY).exists():
        return "ray is not installed (pip install 'yui-lsp[ray]')"
    return None


@dataclass
class Node:
    """One node of the cluster."""

    name: str
    temp_dir: Path
    cache: Path
    resources: dict[str, float] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """Processes of this node (raylet and the rest started under its temp dir)."""
        mark = str(self.temp_dir)
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            if any(mark in part for part in proc.info.get("cmdline") or []):
                found.append(proc.pid)
        return found

    def raylet_pid(self) -> int:
        mark = str(self.temp_dir)
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info.get("cmdline") or []
            if cmd and cmd[0].endswith("raylet") and any(mark in part for part in cmd):
                return proc.pid
        raise LookupError(f"no raylet of node {self.name}")

    def kill(self) -> None:
        """SIGKILL the node's raylet, then everything else of it: the node is lost."""
        os.kill(self.raylet_pid(), signal.SIGKILL)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Cluster:
    """Head node plus workers; ``with Cluster(...) as c`` starts and ends them."""

    def __init__(self, workers: list[tuple[str, int, dict[str, float], dict[str, str]]],
                 head_cpus: int = 1, head_env: Mapping[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="yr"))  # socket paths must stay short
        self._specs = workers
        self._head_cpus = head_cpus
        self._head_env = dict(head_env or {})
        self.nodes: list[Node] = []

    def _start(self, name: str, cpus: int, resources: dict[str, float],
               env: Mapping[str, str], head: bool) -> Node:
        node = Node(name, self.folder / name, self.folder / f"{name}-cache", resources)
        argv = [RAY, "start", "--node-ip-address", "127.0.0.1", "--temp-dir", str(node.temp_dir),
                "--num-cpus", str(cpus), "--disable-usage-stats"]
        if head:
            argv += ["--head", "--port", str(PORT), "--include-dashboard", "false"]
        else:
            argv += ["--address", ADDRESS]
        if resources:
            argv += ["--resources", json.dumps(resources)]
        full_env = {**os.environ, **_FAST_HEALTH, "YUI_NODE_CACHE": str(node.cache), **env}
        done = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed:\n{done.stdout}\n{done.stderr}")
        self.nodes.append(node)
        return node

    def __enter__(self) -> Cluster:
        self._start("head", self._head_cpus, {}, self._head_env, head=True)
        for name, cpus, resources, env in self._specs:
            self._start(name, cpus, resources, env, head=False)
        self.wait_nodes(len(self.nodes))
        return self

    def wait_nodes(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` nodes are alive."""
        import ray

        connected = ray.is_initialized()
        if not connected:
            ray.init(address=ADDRESS, log_to_driver=False)
        try:
            end = time.monotonic() + timeout
            while sum(1 for n in ray.nodes() if n["Alive"]) != count:
                if time.monotonic() > end:
                    raise TimeoutError(f"{count} nodes not alive")
                time.sleep(0.2)
        finally:
            if not connected:
                ray.shutdown()

    def node_of(self, shown: str) -> Node:
        """The node an attempt reported (``host/nodeid8``)."""
        import ray

        short = shown.rsplit("/", 1)[-1]
        connected = ray.is_initialized()
        if not connected:
            ray.init(address=ADDRESS, log_to_driver=False)
        try:
            for info in ray.nodes():
                if info["NodeID"].startswith(short):
                    socket_dir = Path(info["RayletSocketName"]).parents[2]
                    return next(n for n in self.nodes if n.temp_dir == socket_dir)
        finally:
            if not connected:
                ray.shutdown()
        raise LookupError(shown)

    def __exit__(self, *exc: object) -> None:
        for node in reversed(self.nodes):
            for pid in node.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
