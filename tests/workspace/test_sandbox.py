"""Sandboxes: the agent sees what the user sees, works apart, and its changes come back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workspace.conftest import run_git, write
from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import SandboxPool


def worktrees(repo: Path) -> list[str]:
    return [ln for ln in run_git(repo, "worktree", "list", "--porcelain").splitlines()
            if ln.startswith("worktree ")]


async def test_sandbox_holds_head_plus_uncommitted_changes(repo: Path, cache: Path) -> None:
    write(repo, {"src/app.py": "def main():\n    return 2  # unsaved idea\n",
                 "notes.txt": "untracked\n", ".env": "TOKEN=1\n", "build.log": "x"})
    (repo / "src" / "util.py").unlink()
    write(repo, {".yui/audit.jsonl": "{}\n"})
    pool = SandboxPool(repo, cache, include=[".env"], pool_size=2)
    sandbox = await pool.acquire("t1")
    try:
        assert sandbox.path.is_relative_to(cache) and sandbox.task_id == "t1"
        assert (sandbox.path / "src/app.py").read_text().endswith("# unsaved idea\n")
        assert not (sandbox.path / "src/util.py").exists()
        assert (sandbox.path / "notes.txt").read_text() == "untracked\n"
        assert (sandbox.path / ".env").read_text() == "TOKEN=1\n"
        assert not (sandbox.path / ".yui").exists()
        # The base is what was handed out: the agent's diff starts empty.
        assert sandbox.diff().changes == []
        assert sandbox.base_bytes("notes.txt") == b"untracked\n"
        assert sandbox.base_bytes("src/util.py") is None
        # The user's repository is untouched.
        assert set(run_git(repo, "status", "--porcelain").splitlines()) == {
            " M src/app.py", " D src/util.py", "?? build.log", "?? notes.txt"}
    finally:
        await pool.close()
    assert not any(cache.rglob("*.py")) and len(worktrees(repo)) == 1


async def test_diff_reports_every_kind_of_change(repo: Path, cache: Path) -> None:
    pool = SandboxPool(repo, cache, include=[], pool_size=1)
    sandbox = await pool.acquire("t")
    try:
        root = sandbox.path
        (root / "src/app.py").write_text("def main():\n    return 42\n")
        (root / "src/util.py").rename(root / "src/tools.py")
        (root / "README.md").unlink()
        write(root, {"assets/logo.png": b"\x89PNG\x00\x01\x02", "scripts/run.sh": "#!/bin/sh\n",
                     "latin.txt": "caf\xe9".encode("latin-1"), "__pycache__/x.pyc": b"\x00"})
        os.chmod(root / "scripts/run.sh", 0o755)
        os.chmod(root / "tests/test_app.py", 0o755)
        os.symlink("src/app.py", root / "app_link.py")
        changes = {c.path: c for c in sandbox.diff().changes}
        assert changes["src/app.py"].kind is ChangeKind.MODIFY
        assert changes["src/tools.py"].kind is ChangeKind.RENAME
        assert changes["src/tools.py"].old_path == "src/util.py"
        assert changes["README.md"].kind is ChangeKind.DELETE
        assert changes["assets/logo.png"].binary and changes["latin.txt"].binary
        assert not changes["src/app.py"].binary
        assert changes["scripts/run.sh"].mode == 0o100755
        assert changes["tests/test_app.py"].mode == 0o100755
        assert changes["app_link.py"].mode == 0o120000
        assert "__pycache__/x.pyc" not in changes  # ignored files are not results
        assert sandbox.read("app_link.py") == b"src/app.py"
        assert sandbox.base_bytes("src/app.py") == b"def main():\n    return 1\n"
    finally:
        await pool.close()


async def test_symlink_out_of_the_sandbox_is_refused(repo: Path, cache: Path) -> None:
    pool = SandboxPool(repo, cache, include=[], pool_size=0)
    sandbox = await pool.acquire("t")
    try:
        os.symlink("/etc/passwd", sandbox.path / "passwd")
        with pytest.raises(PathOutsideWorkspaceError):
            sandbox.diff()
        with pytest.raises(PathOutsideWorkspaceError):
            sandbox.read("../../outside")
    finally:
        await pool.release(sandbox)
    assert not sandbox.path.exists()  # pool_size 0: removed, not kept


async def test_pooled_sandbox_is_reset_between_tasks(repo: Path, cache: Path) -> None:
    pool = SandboxPool(repo, cache, include=[], pool_size=1)
    first = await pool.acquire("t1")
    (first.path / "src/app.py").write_text("agent 1 was here\n")
    write(first.path, {"junk/new.txt": "x", ".env": "leak"})
    run_git(first.path, "add", "-A")
    run_git(first.path, "commit", "-q", "-m", "agent commit")
    await pool.release(first)
    write(repo, {"src/util.py": "X = 2  # user edit after task 1\n"})
    second = await pool.acquire("t2")
    try:
        assert second.path == first.path  # reused from the pool
        assert second.task_id == "t2"
        assert (second.path / "src/app.py").read_text() == "def main():\n    return 1\n"
        assert not (second.path / "junk").exists() and not (second.path / ".env").exists()
        assert (second.path / "src/util.py").read_text().startswith("X = 2")
        assert second.diff().changes == []
    finally:
        await pool.close()


async def test_plain_folder_gets_a_real_copy(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "plain"
    write(root, {"a.txt": "a\n", "sub/b.txt": "b\n", ".yui/x": "state"})
    pool = SandboxPool(root, cache, include=[], pool_size=2)
    assert not pool.is_git
    sandbox = await pool.acquire("t")
    try:
        assert not (sandbox.path / ".git").exists() and not (sandbox.path / ".yui").exists()
        assert os.stat(sandbox.path / "a.txt").st_ino != os.stat(root / "a.txt").st_ino
        (sandbox.path / "a.txt").write_text("a agent\n")
        (sandbox.path / "sub/b.txt").unlink()
        write(sandbox.path, {"c.txt": "c\n"})
        kinds = {c.path: c.kind for c in sandbox.diff().changes}
        assert kinds == {"a.txt": ChangeKind.MODIFY, "sub/b.txt": ChangeKind.DELETE,
                         "c.txt": ChangeKind.CREATE}
        assert sandbox.base_bytes("a.txt") == b"a\n"
        assert (root / "a.txt").read_text() == "a\n"
    finally:
        await pool.release(sandbox)
    assert not sandbox.path.exists() and list(cache.rglob("*.txt")) == []


async def test_orphans_of_dead_processes_are_removed(repo: Path, cache: Path) -> None:
    script = (
        "import anyio, os, sys\n"
        "from pathlib import Path\n"
        "from yui_lsp.workspace import SandboxPool\n"
        "async def main():\n"
        "    pool = SandboxPool(Path(sys.argv[1]), Path(sys.argv[2]), [], 2)\n"
        "    sb = await pool.acquire('orphan')\n"
        "    print(sb.path, flush=True)\n"
        "    os._exit(0)  # dies without cleaning up\n"
        "anyio.run(main)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script, str(repo), str(cache)], env=env,
                          capture_output=True, text=True, check=True, timeout=60)
    orphan = Path(done.stdout.strip())
    assert orphan.is_dir() and len(worktrees(repo)) == 2
    pool = SandboxPool(repo, cache, include=[], pool_size=2)
    mine = await pool.acquire("live")
    try:
        assert pool.cleanup_orphans() == [orphan]
        assert not orphan.exists() and mine.path.exists()
        assert len(worktrees(repo)) == 2  # main + the live one
    finally:
        await pool.close()
    assert len(worktrees(repo)) == 1
