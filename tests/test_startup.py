"""Start-up stays light: `yui --version` loads no pydantic, anyio or rich (timings live in
benchmarks/bench_startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pydantic", "anyio", "rich", "pygls", "lsprotocol", "psutil", "filelock")

PROBE = """
import json, sys
from yui_lsp.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(HEAVY)))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _probe(*argv: str) -> tuple[str, dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", PROBE.replace("HEAVY", repr(json.dumps(HEAVY))),
                           *argv], capture_output=True, text=True, check=True, timeout=120)
    *printed, last = done.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(last)


def test_version_imports_nothing_heavy() -> None:
    printed, found = _probe("--version")
    assert printed == "yui 0.1.0"
    assert found == {"code": 0, "heavy": []}


def test_help_imports_nothing_heavy() -> None:
    printed, found = _probe("--help")
    assert "refactor" in printed and "status" in printed
    assert found == {"code": 0, "heavy": []}


def test_public_api_still_reachable_from_the_package() -> None:
    code = ("import sys, yui_lsp; assert 'pydantic' not in sys.modules; "
            "from yui_lsp import ParallelTaskManager, Task, TaskStatus; "
            "print(Task(id='t', prompt='p').id, TaskStatus.COMPLETED.value, "
            "ParallelTaskManager.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.split() == ["t", "completed", "ParallelTaskManager"]


@pytest.mark.parametrize("command", ["status", "locks"])
def test_status_and_locks_read_state_without_models(command: str, tmp_path: Path) -> None:
    """They print with rich but read .yui/ as plain JSON: no pydantic, anyio, psutil..."""
    printed, found = _probe(command, "--root", str(tmp_path))
    assert printed.startswith("no tasks" if command == "status" else "no leases")
    assert found["code"] == 0
    assert found["heavy"] == ["rich"]


def test_language_server_is_created_without_the_coordinator() -> None:
    """`initialize` is answered with pygls alone: the coordinator and pydantic load when
    `initialized` arrives (server/features.py)."""
    code = ("import sys; from yui_lsp.server.server import create_server; "
            "server = create_server(); "
            "assert len(server.protocol.fm.commands) >= 20, server.protocol.fm.commands; "
            "print(sorted(n for n in sys.modules if n.split('.')[0] == 'pydantic' "
            "or n.startswith('yui_lsp.coordinator')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
