"""`yui demo`: a fresh copy of the bundled example project, as its own git repository."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from yui_lsp.errors import YuiError

PLAN_NAME = "yui-plan.toml"
#: Files of the example that only exist because Python imported it.
_SKIP = frozenset({"__pycache__", ".yui"})


def _copy(source: Traversable, target: Path) -> None:
    """Copy a package-data tree (works from a folder or a wheel alike)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name in _SKIP or item.name.endswith(".pyc"):
            continue
        if item.is_dir():
            _copy(item, target / item.name)
        else:
            (target / item.name).write_bytes(item.read_bytes())


def _git(root: Path, *args: str) -> None:
    # A fixed identity: the demo must not depend on (or change) the user's git config.
    command = ["git", "-c", "user.name=yui demo", "-c", "user.email=demo@yui.invalid",
               "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise YuiError(f"git {args[0]} failed in {root}: {done.stderr.strip()[:200]}")


def prepare_demo(into: Path | None) -> tuple[Path, Path]:
    """Copy the example to ``into`` (or a new temp folder), commit it; return (root, plan)."""
    if into is None:
        root = Path(tempfile.mkdtemp(prefix="yui-demo-"))
    else:
        root = into.resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise YuiError(f"--into {into} is not an empty folder; give a new or empty one")
    _copy(resources.files("yui_lsp.cli") / "demo" / "webapp", root)
    if shutil.which("git"):
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "webapp example")
    return root, root / PLAN_NAME
