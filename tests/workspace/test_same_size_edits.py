"""A same-size edit in the second the sandbox was checked out is never lost.

Git (built without ``USE_NSEC``) compares whole seconds: once the index's timestamp is in a
later second than an entry (an index written late, copied, a clock step), a same-size
rewrite stamped in that entry's second passes git's stat check. These tests put a sandbox
in exactly that state — the edit lands in the checkout's second, the index is stamped the
next second — and check the diff still sees the edit and the release still undoes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from tests.workspace.conftest import run_git
from yui_lsp.workspace import SandboxPool
from yui_lsp.workspace.sandbox import Sandbox

pytestmark = pytest.mark.anyio

ROUNDS = 50
_NS = 1_000_000_000


def _blind_edit(sandbox: Sandbox) -> bool:
    """Rewrite src/app.py with other bytes of the same size in the second its index entry
    records, then stamp the index a second later; False when the clock already moved on."""
    path = sandbox.path / "src" / "app.py"
    second = os.lstat(path).st_mtime_ns // _NS
    old = path.read_bytes()
    path.write_bytes(old.replace(b"1", b"2"))
    st = os.lstat(path)
    if st.st_ctime_ns // _NS != second or st.st_mtime_ns // _NS != second:
        path.write_bytes(old)
        return False
    index = sandbox.git_dir / "index"
    os.utime(index, ns=((second + 1) * _NS, (second + 1) * _NS))
    return True


async def test_same_size_edit_in_the_checkout_second_is_diffed(
    repo: Path, cache: Path
) -> None:
    landed = 0
    for n in range(ROUNDS):
        pool = SandboxPool(repo, cache, [], pool_size=0)  # a fresh checkout every round
        sandbox = await pool.acquire(f"t{n}")
        if _blind_edit(sandbox):
            landed += 1
            changes = await anyio.to_thread.run_sync(sandbox.diff)
            assert changes.paths == ["src/app.py"], f"round {n}: {changes.paths}"
        await pool.close()
    assert landed, "no edit landed in its checkout's second in any round"


async def test_release_undoes_an_edit_git_cannot_see(repo: Path, cache: Path) -> None:
    pool = SandboxPool(repo, cache, [], pool_size=1)
    for n in range(ROUNDS):
        sandbox = await pool.acquire(f"t{n}")
        if _blind_edit(sandbox):
            break
        await pool.close()  # next round: a fresh checkout
    else:
        pytest.fail("no edit landed in its checkout's second in any round")
    await anyio.to_thread.run_sync(sandbox.diff)
    await pool.release(sandbox)
    again = await pool.acquire("next")
    assert again is sandbox
    assert (again.path / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    changes = await anyio.to_thread.run_sync(again.diff)
    assert changes.changes == []
    assert run_git(repo, "status", "--porcelain") == ""
    await pool.close()
