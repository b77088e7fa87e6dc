"""A folder that becomes a file and a file that becomes a folder land like any change: no
internal error, no journal left behind to block later runs, and messages that say what is
in the way when something is."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.security.conftest_input import (  # noqa: F401 - the fixtures are used by name
    Yui,
    repo_fixture,
    shell_task,
    write_plan,
    yui_fixture,
)
from yui_lsp.errors import ApplyError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import Integration, JournaledApplier, MergedFile, recover
from yui_lsp.workspace import journal as jr
from yui_lsp.workspace.statedir import WriteBarrier


def _journals_left(repo: Path) -> list[str]:
    folder = repo / ".yui" / "journal"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_folder_turned_into_a_file_lands(repo: Path, yui: Yui) -> None:
    code = "import shutil, pathlib; shutil.rmtree('src'); pathlib.Path('src').write_text('x\\n')"
    write_plan(repo, shell_task("flat", code, ["**"]))
    done = yui("run", "plan.toml")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src").read_text() == "x\n"
    assert _journals_left(repo) == []
    assert yui("recover").code == 0
    # And back: undo puts the folder where the file is.
    undone = yui("undo", "flat")
    assert undone.code == 0, undone.stdout + undone.stderr
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"


def test_a_file_turned_into_a_folder_lands(repo: Path, yui: Yui) -> None:
    code = ("import os, pathlib; os.remove('README.md'); os.mkdir('README.md'); "
            "pathlib.Path('README.md/index.md').write_text('# moved\\n')")
    write_plan(repo, shell_task("deep", code, ["**"]))
    done = yui("run", "plan.toml")
    assert done.code == 0, done.stdout + done.stderr
    assert "permissions" not in done.stdout + done.stderr
    assert (repo / "README.md" / "index.md").read_text() == "# moved\n"
    assert _journals_left(repo) == []
    undone = yui("undo", "deep")
    assert undone.code == 0, undone.stdout + undone.stderr
    assert (repo / "README.md").read_text() == "# demo\n"


def test_a_folder_still_holding_other_files_is_named_and_nothing_lands(repo: Path) -> None:
    (repo / "src" / "__pycache__").mkdir()
    (repo / "src" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    integration = Integration("flat", [
        MergedFile(path="src/a.py", kind=ChangeKind.DELETE, content=None, expected=b"A = 1\n"),
        MergedFile(path="src/b.py", kind=ChangeKind.DELETE, content=None, expected=b"B = 2\n"),
        MergedFile(path="src", kind=ChangeKind.CREATE, content=b"x\n", expected=None),
    ])
    with pytest.raises(ApplyError, match=r"src/__pycache__/a\.pyc") as caught:
        JournaledApplier(repo, retention=5).apply_sync("flat", integration)
    assert "permissions" not in str(caught.value)
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"
    assert _journals_left(repo) == []


def test_a_file_in_the_way_of_a_new_folder_is_named(repo: Path) -> None:
    integration = Integration("deep", [
        MergedFile(path="README.md/index.md", kind=ChangeKind.CREATE, content=b"x",
                   expected=None),
    ])
    with pytest.raises(ApplyError, match=r"README\.md is a file in the workspace"):
        JournaledApplier(repo, retention=5).apply_sync("deep", integration)
    assert _journals_left(repo) == []


def test_an_aborted_folder_to_file_apply_rolls_back_and_leaves_no_journal(repo: Path) -> None:
    """The apply failed after the folder was gone: recovery brings the folder back."""
    changes = [
        jr.Change("src/a.py", repo / "src/a.py", None, b"A = 1\n", None, 0o100644),
        jr.Change("src/b.py", repo / "src/b.py", None, b"B = 2\n", None, 0o100644),
        jr.Change("src", repo / "src", b"x\n", None, None, None),
    ]
    journal = jr.journal_root(repo) / "flat"
    with WriteBarrier(repo) as barrier:
        jr.write_journal(journal, "flat", changes, barrier)
        placements = [jr.Placement(c.target, c.new, c.mode, c.old_mode) for c in changes]
        jr.place("flat", placements, barrier)
    assert (repo / "src").read_text() == "x\n"
    jr.mark(journal, jr.ABORTED)
    assert recover(repo) == ["flat"]
    assert stat.S_ISDIR((repo / "src").stat().st_mode)
    assert (repo / "src" / "b.py").read_text() == "B = 2\n"
    assert _journals_left(repo) == []
