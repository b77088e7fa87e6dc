"""Sandboxes: the agent sees what the user sees, works apart, and its changes come back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.workspace.conftest import run_git, write
from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import SandboxPool, state_dir
from yui_lsp.workspace.gitcmd import read_head
from yui_lsp.workspace.journal import temp_name
from yui_lsp.workspace.sandbox import Sandbox


def worktrees(repo: Path) -> list[str]:
    return [ln for ln in run_git(repo, "worktree", "list", "--porcelain").splitlines()
            if ln.startswith("worktree ")]


async def test_sandbox_holds_head_plus_uncommitted_changes(repo: Path, cache: Path) -> None:
    write(repo, {"src/app.py": "def main():\n    return 2  # unsaved idea\n",
                 "notes.txt": "untracked\n", ".env": "TOKEN=1\n", "build.log": "x"})
    (repo / "src" / "util.py").unlink()
    (state_dir(repo) / "audit.jsonl").write_text("{}\n")
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
    await pool.close()
    pool = SandboxPool(repo, cache, include=[], pool_size=1)
    sandbox = await pool.acquire("t")
    os.symlink("/etc/passwd", sandbox.path / "passwd")
    with pytest.raises(PathOutsideWorkspaceError):
        sandbox.diff()
    await pool.release(sandbox)
    assert not (sandbox.path / "passwd").is_symlink()  # kept in the pool, link gone
    await pool.close()


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
    own_git = orphan.with_name(orphan.name + ".gitdir")
    assert orphan.is_dir() and own_git.is_dir()
    pool = SandboxPool(repo, cache, include=[], pool_size=2)
    mine = await pool.acquire("live")
    try:
        assert pool.cleanup_orphans() == [orphan]
        assert not orphan.exists() and not own_git.exists() and mine.path.exists()
    finally:
        await pool.close()
    # Sandboxes never register anything in the user's .git.
    assert len(worktrees(repo)) == 1 and not (repo / ".git" / "worktrees").exists()


async def test_release_undoes_exactly_what_the_task_did(repo: Path, cache: Path) -> None:
    write(repo, {"notes.txt": "user's untracked note\n", ".env": "TOKEN=1\n"})
    pool = SandboxPool(repo, cache, include=[".env"], pool_size=1)
    first = await pool.acquire("t1")
    root = first.path
    (root / "src/app.py").write_text("agent edit\n")
    (root / "README.md").unlink()
    (root / "notes.txt").write_text("agent rewrote the note\n")
    os.chmod(root / "tests/test_app.py", 0o755)
    write(root, {"gen/deep/new.py": "x = 1\n", "__pycache__/m.pyc": b"\x00", ".env": "leak"})
    assert {c.path for c in first.diff().changes} == {
        "src/app.py", "README.md", "notes.txt", "tests/test_app.py", "gen/deep/new.py"}
    await pool.release(first)
    assert not (root / "gen").exists() and not (root / "__pycache__").exists()
    second = await pool.acquire("t2")
    try:
        assert second.path == root
        assert (root / "src/app.py").read_text() == "def main():\n    return 1\n"
        assert (root / "README.md").read_text() == "# demo\n"
        assert (root / "notes.txt").read_text() == "user's untracked note\n"
        assert not os.access(root / "tests/test_app.py", os.X_OK)
        assert (root / ".env").read_text() == "TOKEN=1\n"  # copied in again, not the leak
        assert second.diff().changes == []
        assert run_git(root, "status", "--porcelain") == ""
    finally:
        await pool.close()


async def test_each_hand_out_sees_the_users_latest_edit(repo: Path, cache: Path) -> None:
    pool = SandboxPool(repo, cache, include=[], pool_size=2)
    try:
        for text in ("X = 2\n", "X = 3\n", "X = 4\n"):  # same size: only the content moves
            write(repo, {"src/util.py": text})
            sandbox = await pool.acquire(f"t{text[4]}")
            assert (sandbox.path / "src/util.py").read_text() == text
            assert sandbox.base_bytes("src/util.py") == text.encode()
            await pool.release(sandbox)
        run_git(repo, "commit", "-qam", "user commits")
        sandbox = await pool.acquire("after-commit")
        # Nothing uncommitted any more: the sandbox sits on the user's new commit itself.
        assert sandbox.base == run_git(repo, "rev-parse", "HEAD").strip()
        assert run_git(sandbox.path, "status", "--porcelain") == ""
        await pool.release(sandbox)
    finally:
        await pool.close()


async def test_sandboxes_handed_out_together_share_one_base(repo: Path, cache: Path) -> None:
    write(repo, {"src/app.py": "def main():\n    return 5\n", "draft.md": "draft\n"})
    pool = SandboxPool(repo, cache, include=[], pool_size=4)
    sandboxes: list[Sandbox] = []

    async def take(i: int) -> None:
        sandboxes.append(await pool.acquire(f"t{i}"))

    try:
        async with anyio.create_task_group() as group:
            for i in range(4):
                group.start_soon(take, i)
        assert len({s.base for s in sandboxes}) == 1
        for sandbox in sandboxes:
            assert (sandbox.path / "draft.md").read_text() == "draft\n"
            assert sandbox.diff().changes == []
    finally:
        await pool.close()
    assert run_git(repo, "status", "--porcelain").splitlines() == [
        " M src/app.py", "?? draft.md"]  # the user's index was never touched


async def test_symlink_leaving_the_workspace_is_not_handed_out(
    repo: Path, cache: Path, tmp_path: Path
) -> None:
    write(tmp_path, {"secret.txt": "secret\n"})
    os.symlink(tmp_path / "secret.txt", repo / "leak")
    os.symlink("src/app.py", repo / "inner")
    pool = SandboxPool(repo, cache, include=[], pool_size=1)
    sandbox = await pool.acquire("t")
    try:
        assert not (sandbox.path / "leak").exists() and not (sandbox.path / "leak").is_symlink()
        assert os.readlink(sandbox.path / "inner") == "src/app.py"
    finally:
        await pool.close()


@pytest.mark.parametrize("layout", ["branch", "packed", "detached", "worktree"])
def test_head_is_read_like_git_reads_it(repo: Path, tmp_path: Path, layout: str) -> None:
    where = repo
    if layout == "packed":
        run_git(repo, "pack-refs", "--all")
    elif layout == "detached":
        run_git(repo, "checkout", "-q", "--detach")
    elif layout == "worktree":
        where = tmp_path / "wt"
        run_git(repo, "worktree", "add", "-q", "-b", "side", str(where))
        write(where, {"side.txt": "s\n"})
        run_git(where, "add", "-A")
        run_git(where, "commit", "-qm", "side")
    assert read_head(where) == run_git(where, "rev-parse", "HEAD").strip()


async def test_an_apply_temp_file_is_not_part_of_the_base(repo: Path, cache: Path) -> None:
    # A journaled apply renames such a file over its target at any moment: a snapshot taken
    # meanwhile must not try to record it (it may be gone by `git add`), nor hand it out.
    temp = temp_name(repo / "docs" / "tasks.md", "spec-1.1").relative_to(repo).as_posix()
    top = temp_name(repo / "tasks.md", "spec-1.2").relative_to(repo).as_posix()
    write(repo, {temp: "- [x] 1.1 half-applied\n", top: "x\n", "notes.txt": "mine\n"})
    pool = SandboxPool(repo, cache, include=[], pool_size=1)
    sandbox = await pool.acquire("t1")
    try:
        assert (sandbox.path / "notes.txt").read_text() == "mine\n"
        assert not (sandbox.path / temp).exists() and not (sandbox.path / top).exists()
    finally:
        await pool.close()


async def test_objects_a_power_cut_left_empty_are_set_aside_and_made_again(
        repo: Path, cache: Path) -> None:
    write(repo, {"src/app.py": "def main():\n    return 2  # unsaved idea\n"})
    pool = SandboxPool(repo, cache, include=[], pool_size=0)
    sandbox = await pool.acquire("t1")
    await pool.release(sandbox)
    await pool.close()
    loose = [p for p in pool.objects.glob("??/*")]
    assert loose, "the uncommitted change was recorded in yui's own store"
    for path in loose:
        path.chmod(0o644)
        path.write_bytes(b"")  # as git's unsynced object files come back after a power cut

    again = SandboxPool(repo, cache, include=[], pool_size=0)
    sandbox = await again.acquire("t2")
    try:
        assert (sandbox.path / "src/app.py").read_text().endswith("# unsaved idea\n")
    finally:
        await again.close()
    kept = list((pool.folder / "objects.damaged").rglob("??/*"))
    assert sorted(p.name for p in kept) == sorted(p.name for p in loose)
    assert all(p.read_bytes() == b"" for p in kept)
