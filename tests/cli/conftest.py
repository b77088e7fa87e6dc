"""Fixtures: a real git repository and a way to run the real `yui` CLI in a subprocess.

Every run gets its own cache folder inside tmp_path (sandboxes live in the user cache dir),
CI=true and no terminal, like in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import yui_lsp
from tests.support import git, init_repo

__all__ = ["git"]  # re-exported for the CLI tests

PYTHON = sys.executable
#: The folder holding the package under test, so subprocesses import this very code.
SOURCE_ROOT = Path(yui_lsp.__file__).resolve().parents[1]



@dataclass
class Done:
    """A finished `yui` process."""

    code: int
    stdout: str
    stderr: str


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "CI": "true",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "COLUMNS": "160",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    })
    env.pop("TERM", None)
    return env


def yui_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "yui_lsp.cli.main", *args]


Yui = Callable[..., Done]


@pytest.fixture
def yui(tmp_path: Path) -> Yui:
    """Run `yui ARGS...` to the end (in ``cwd``, default the repo) and return what it did."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 60) -> Done:
        done = subprocess.run(
            yui_argv(*args), cwd=cwd or tmp_path / "repo", env=cli_env(tmp_path),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"src/{n}.py": f"from old_name import thing  # {n}\n" for n in ("a", "b", "c")}
    readme = {"README.md": "# demo\nold_name is used here too\n"}
    return init_repo(tmp_path / "repo", {**files, **readme})


def write_plan(root: Path, text: str, name: str = "plan.toml") -> Path:
    path = root / name
    path.write_text(text)
    return path


def shell_task(
    task_id: str, code: str, claims: Sequence[str], deps: Sequence[str] = (),
    args: Sequence[str] = (),
) -> str:
    """A plan [[task]] running ``python -c CODE ARGS...`` with the shell worker."""
    # JSON strings are valid TOML basic strings.
    command = ", ".join(json.dumps(part) for part in (PYTHON, "-c", code, *args))
    lines = [
        "[[task]]",
        f'id = "{task_id}"',
        'agent = "shell"',
        f"command = [{command}]",
        "claims = [" + ", ".join(f'"{c}"' for c in claims) + "]",
    ]
    if deps:
        lines.append("depends_on = [" + ", ".join(f'"{d}"' for d in deps) + "]")
    return "\n".join(lines) + "\n\n"
