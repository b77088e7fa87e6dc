"""Case 3 of the hostile-agent suite: links. Nothing yui does on an agent's behalf follows a
path out of the sandbox — the ACP file service (``fs/read_text_file``/``write_text_file``),
the diff, the reset — and a link only lands as a relative link that stays in the tree."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.security.conftest import (
    CONFINE_MODES,
    finals,
    ordinary_task_works,
    run_plan,
    settings_file,
    shell,
    user_state,
)
from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.workspace import safe_fs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A sandbox-like tree and a folder outside it holding a precious file."""
    root = tmp_path / "sandbox"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inner.txt").write_text("inner\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious\n")
    return root, outside


# Link shapes that lead out, each as (name, target) with {out} the outside folder and
# {root} the tree; writing or reading "<name>/precious.txt" or "<name>" must not get there.
ESCAPING = [
    ("linkdir", "{out}"),                       # absolute folder
    ("reldir", "../outside"),                   # relative folder
    ("deep", "sub/../../outside"),              # relative, through a real folder
    ("chain", "hop"),                           # a link to a link that leaves
    ("linkfile", "{out}/precious.txt"),         # absolute file
    ("dangling", "{out}/new.txt"),              # dangling, pointing out
    ("absinside", "{root}/sub"),                # absolute, even though it points inside
    ("loop", "loop"),                           # a loop
]


def _make(root: Path, outside: Path, name: str, target: str) -> None:
    os.symlink(target.format(out=outside, root=root), root / name)
    if name == "chain":
        os.symlink("../outside", root / "hop")


@pytest.mark.parametrize(("name", "target"), ESCAPING, ids=[n for n, _ in ESCAPING])
def test_file_service_never_follows_a_link_out(
    tree: tuple[Path, Path], name: str, target: str
) -> None:
    root, outside = tree
    _make(root, outside, name, target)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    for rel in (name, f"{name}/precious.txt", f"{name}/new/deeper.txt"):
        with pytest.raises((PathOutsideWorkspaceError, NotADirectoryError, FileNotFoundError)):
            safe_fs.write_file(root, rel, b"pwned\n")
        with pytest.raises((PathOutsideWorkspaceError, NotADirectoryError, FileNotFoundError,
                            IsADirectoryError)):
            safe_fs.read_file(root, rel)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert os.path.islink(root / name)  # the link itself was not replaced either


def test_links_inside_the_sandbox_are_followed_inside(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    os.symlink("sub", root / "alias")
    os.symlink("sub/inner.txt", root / "file_alias")
    os.symlink("../sub", root / "sub" / "self")
    # Where a write really goes (what claims and protected folders are checked against).
    assert safe_fs.resolve(root, "alias/new.txt") == "sub/new.txt"
    assert safe_fs.resolve(root, "sub/self/self/inner.txt") == "sub/inner.txt"
    safe_fs.write_file(root, "alias/new.txt", b"via the link\n")
    assert (root / "sub" / "new.txt").read_bytes() == b"via the link\n"
    safe_fs.write_file(root, "file_alias", b"rewritten\n")
    assert (root / "sub" / "inner.txt").read_bytes() == b"rewritten\n"
    assert os.path.islink(root / "file_alias")
    assert safe_fs.read_file(root, "sub/self/self/inner.txt") == b"rewritten\n"
    safe_fs.write_file(root, "made/on/the/way.txt", b"x")
    assert (root / "made" / "on" / "the" / "way.txt").read_bytes() == b"x"


def test_sandbox_reads_and_removals_never_pass_through_a_link(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    os.symlink(str(outside), root / "linkdir")
    assert safe_fs.read_entry(root, "linkdir") == os.fsencode(str(outside))
    with pytest.raises(PathOutsideWorkspaceError):
        safe_fs.read_entry(root, "linkdir/precious.txt")
    with pytest.raises(PathOutsideWorkspaceError):
        safe_fs.remove_entry(root, "linkdir/precious.txt")
    safe_fs.remove_entry(root, "linkdir")
    assert not os.path.lexists(root / "linkdir")
    assert (outside / "precious.txt").read_text() == "precious\n"


def _acp_config(repo: Path, links: str) -> dict[str, str]:
    (repo / ".yui" / "config.toml").write_text(
        (repo / ".yui" / "config.toml").read_text()
        + '[agents.acp-links]\nkind = "kiro-acp"\npermission_policy = "allow"\n'
        + f'env = {{ FAKE_ACP_SYMLINKS = "{links}" }}\n')
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {"YUI_KIRO_CLI": str(FIXTURES / "kiro-cli"), "KIRO_API_KEY": "test-key",
            "PATH": path}


@pytest.mark.parametrize("shape", ["absolute", "relative"])
@pytest.mark.parametrize("confine", CONFINE_MODES)
def test_an_acp_write_through_a_linked_folder_never_reaches_the_workspace(
    repo: Path, tmp_path: Path, confine: str, shape: str
) -> None:
    settings_file(repo, confine)
    # From <pool>/<sandbox>/ back to the user's src/: ../../../../repo/src in these tests.
    target = str(repo / "src") if shape == "absolute" else os.path.relpath(
        repo / "src", tmp_path / "cache" / "yui-lsp" / "sandboxes" / "x" / "y")
    env = _acp_config(repo, f"sbdir={target}")
    before = user_state(repo)
    plan = ('[[task]]\nid = "acp"\nagent = "acp-links"\nclaims = ["**"]\nprompt = """\n'
            "append sbdir/app.py: # pwned\nwrite sbdir/util.py: pwned\n"
            'write src/own.py: OWN = 1\n"""\n')
    done = run_plan(repo, tmp_path, plan, env=env)
    final = finals(done)["acp"]
    after = user_state(repo)
    # src/app.py and src/util.py are untouched; the link itself never lands (it leads out).
    assert {rel: after[rel] for rel in before} == before, final
    assert "sbdir" not in after
    assert final["status"] in ("completed", "failed")
    if final["status"] == "completed":
        assert after["src/own.py"] == b"OWN = 1"
    else:
        assert "symlink" in str(final["error"]), final
    ordinary_task_works(repo, tmp_path)


# The agent makes links of every shape; only the relative one that stays inside may land.
LINKS = """
import os, sys
here = os.getcwd()
os.symlink("app.py", "src/alias.py")                       # relative, inside: lands
os.symlink(os.path.join(here, "src", "app.py"), "src/abs_alias.py")  # absolute, into the sandbox
open("src/util.py", "a").write("# agent edit\\n")
"""
ESCAPE = """
import os, sys
os.symlink("../../../../../../../../etc/passwd", "src/up.py")
"""


@pytest.mark.parametrize("confine", CONFINE_MODES)
def test_only_a_relative_link_that_stays_inside_lands(
    repo: Path, tmp_path: Path, confine: str
) -> None:
    settings_file(repo, confine)
    before = user_state(repo)
    done = run_plan(repo, tmp_path, shell("links", LINKS) + shell("escape", ESCAPE))
    result = finals(done)
    # An absolute link would point into the sandbox from the user's tree: the task fails.
    assert result["links"]["status"] == "failed"
    assert "abs_alias.py" in str(result["links"]["error"])
    assert result["escape"]["status"] == "failed"
    assert "up.py" in str(result["escape"]["error"])
    assert user_state(repo) == before
    inside = LINKS.replace(
        'os.symlink(os.path.join(here, "src", "app.py"), "src/abs_alias.py")', "")
    done = run_plan(repo, tmp_path, shell("inside", inside))
    assert finals(done)["inside"]["status"] == "completed", finals(done)["inside"]["error"]
    assert os.readlink(repo / "src" / "alias.py") == "app.py"
    ordinary_task_works(repo, tmp_path)


def test_an_acp_write_through_a_link_into_git_or_yui_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    # Links inside the sandbox are followed, but claims and the protected folders are
    # checked where the write really goes; and such a link never lands either.
    settings_file(repo, "off")
    env = _acp_config(repo, "gl=.git;yl=.yui")
    before = user_state(repo)
    plan = ('[[task]]\nid = "acp"\nagent = "acp-links"\nclaims = ["**"]\nprompt = """\n'
            "write gl/hooks/pre-commit: echo pwned\nwrite yl/config.toml: confine = 'off'\n"
            '"""\n')
    done = run_plan(repo, tmp_path, plan, env=env)
    log = (repo / ".yui" / "logs" / "acp.log").read_text()
    assert "refused write to .git/hooks/pre-commit" in log
    assert "refused write to .yui/config.toml" in log
    final = finals(done)["acp"]
    assert final["status"] == "failed" and "no task may change" in str(final["error"])
    assert user_state(repo) == before
