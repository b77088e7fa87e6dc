"""Attempts on a real three-node Ray cluster, on loopback inside a network namespace.

Each test runs tests/executors/ray_scenarios.py (cluster and coordinator) under
``unshare --net --pid`` and asserts on the report it prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.executors.cluster import netns_available, run_in_netns

pytestmark = [
    pytest.mark.ray,
    pytest.mark.slow,
    pytest.mark.skipif(netns_available() is not None, reason=str(netns_available())),
]


def _scenario(name: str, work: Path) -> dict[str, Any]:
    done = run_in_netns([sys.executable, "-m", "tests.executors.ray_scenarios", name, str(work)],
                        timeout=400)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"scenario {name} failed:\n{done.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def test_tasks_run_on_the_cluster_and_land_like_local_ones(tmp_path: Path) -> None:
    report = _scenario("e2e", tmp_path)
    assert "127.0.0.1:6390 is unreachable" in report["unreachable"]
    assert "\n" not in report["unreachable"]
    results = report["results"]
    for task in ("seen", "kiro-a", "dep-b", "wide", "spread-0", "spread-1", "spread-2"):
        assert results[task]["status"] == "completed", results[task]
        assert report["applied"][task] == 1
    files = report["files"]
    # The sandbox on the node held the user's uncommitted edit and the untracked .env.
    assert files["out/seen.txt"] == "# demo\nthe user's uncommitted line\nTOKEN=local-only\n"
    # The Kiro double ran on the only node with {"kiro": 1} (and its credentials).
    assert report["nodes"]["kiro-a"] == ["n1"]
    assert files["src/a.py"] == "x = 10"
    # Its edit merged with the user's uncommitted one, which stays.
    assert files["README.md"] == "# demo\nthe user's uncommitted line\na line from kiro"
    # The dependent task saw its dependency's landed result.
    assert files["src/b.py"] == "x = 10y = 20\n"
    # A free file outside the claims is taken, as for local tasks.
    assert files["docs/new.md"] == "outside the claims, free"
    # Three tasks met at a barrier with one slot per node: one on each node.
    spread = {report["nodes"][f"spread-{i}"][0] for i in range(3)}
    assert spread == {"head", "n1", "n2"}
    # A node without the executable: the error names both.
    missing = results["missing"]
    assert missing["status"] == "failed"
    assert "kiro-cli not found" in missing["error"] and "on node vm/" in missing["error"]
    assert report["nodes"]["missing"] == ["n2"]
    assert files["x.txt"] is None
    assert "no node of the Ray cluster offers" in results["too-big"]["error"]
    assert "gpu-box=1" in results["too-big"]["error"]
    assert "on node" in report["log"] and "Replacing: src/a.py" in report["log"]
    assert results["kiro-a"]["metrics"]["node"].startswith("vm/")
    assert results["exact"]["status"] == "completed", results["exact"]
    assert files["notes.txt"] == "new words\n" and "exact" not in report["nodes"]


def test_faults_node_lost_coordinator_killed_and_cancel(tmp_path: Path) -> None:
    report = _scenario("faults", tmp_path)
    killed = report["coordinator_killed"]
    assert killed["agent_gone"], "an agent outlived its coordinator on the cluster"
    assert report["cancelled"] == {"status": "cancelled", "agent_gone": True}
    lost = report["node_killed"]
    result = lost["result"]
    assert result["status"] == "completed", result
    assert result["attempts"] == 2
    assert lost["applied"] == 1
    assert lost["file"] == "landed\n"
    assert any("node lost" in m for m in lost["messages"]), lost["messages"]
    assert len(lost["nodes"]) == 2 and lost["killed"] in lost["nodes"]
