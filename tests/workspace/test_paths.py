"""Claims and path confinement: what a task may name, and what it may never reach."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.workspace.conftest import write
from yui_lsp.errors import PathOutsideWorkspaceError, PlanError
from yui_lsp.workspace import (
    ClaimSet,
    claims_overlap,
    expand_claims,
    folders_checked_once,
    path_matches,
    resolve_inside,
    to_rel,
)
from yui_lsp.workspace.paths import _claim_segments, _globs_overlap


@pytest.mark.parametrize("rel", ["/etc/passwd", "../outside.txt", "src/../../x", ""])
def test_resolve_inside_refuses_escapes(tmp_path: Path, rel: str) -> None:
    with pytest.raises(PathOutsideWorkspaceError):
        resolve_inside(tmp_path, rel)


def test_resolve_inside_refuses_symlinks_leaving_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("s")
    os.symlink(outside, root / "linkdir")
    os.symlink(outside / "secret", root / "linkfile")
    for rel in ("linkdir/secret", "linkfile", "linkdir"):
        with pytest.raises(PathOutsideWorkspaceError):
            resolve_inside(root, rel)


def test_resolve_inside_allows_inner_paths_and_links(tmp_path: Path) -> None:
    write(tmp_path, {"src/a.py": "a"})
    os.symlink("src", tmp_path / "alias")
    assert resolve_inside(tmp_path, "src/a.py") == tmp_path / "src" / "a.py"
    assert resolve_inside(tmp_path, "alias/a.py").read_text() == "a"
    assert resolve_inside(tmp_path, "src/./b/../a.py") == tmp_path / "src" / "a.py"


def test_a_pass_checking_folders_once_refuses_what_resolve_inside_refuses(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(root, {"src/a.py": "a", "src/b.py": "b"})
    write(outside, {"secret": "s"})
    os.symlink(outside, root / "linkdir")
    os.symlink(outside / "secret", root / "src" / "linkfile")
    with folders_checked_once(root):
        assert resolve_inside(root, "src/a.py") == root / "src" / "a.py"
        # The folder is known now; the file itself is still checked every time.
        with pytest.raises(PathOutsideWorkspaceError):
            resolve_inside(root, "src/linkfile")
        with pytest.raises(PathOutsideWorkspaceError):
            resolve_inside(root, "linkdir/secret")
    # The pass trusted src/ only while it lasted: swapped for a link, it is refused after.
    os.rename(root / "src", root / "src-old")
    os.symlink(outside, root / "src")
    with pytest.raises(PathOutsideWorkspaceError):
        resolve_inside(root, "src/b.py")
    with folders_checked_once(root), pytest.raises(PathOutsideWorkspaceError):
        resolve_inside(root, "src/b.py")


def test_to_rel(tmp_path: Path) -> None:
    assert to_rel(tmp_path, tmp_path / "src" / "a.py") == "src/a.py"
    with pytest.raises(PathOutsideWorkspaceError):
        to_rel(tmp_path / "sub", tmp_path / "other")


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (["src/**"], ["src/a.py"], True),
        (["src/**"], ["src/*/x"], True),
        (["src/a.py"], ["tests/**"], False),
        (["src/*.py"], ["src/*.ts"], False),
        (["src/*.py"], ["src/main*"], True),
        (["src"], ["src/deep/file.txt"], True),
        (["**/*.md"], ["docs/guide.md"], True),
        (["**/*.md"], ["docs/*.txt"], False),
        # A literal claim may name a folder, so it overlaps globs reaching below it.
        (["**/*.md"], ["docs/guide"], True),
        (["src/a.py"], ["src/a.pyc"], False),
        (["a/**/z"], ["a/b/c/z"], True),
        (["a/**/z"], ["a/b/c/*.py"], False),
        (["src/[ab].py"], ["src/c.py"], False),
    ],
)
def test_claims_overlap(a: list[str], b: list[str], overlap: bool) -> None:
    assert claims_overlap(a, b) is overlap
    assert claims_overlap(b, a) is overlap


def test_path_matches() -> None:
    assert path_matches("src/api/users.py", ["src/api/**"])
    assert path_matches("src/api/users.py", ["src/api"])
    assert path_matches("src/a.py", ["src/*.py"])
    assert not path_matches("src/sub/a.py", ["src/*.py"])
    assert path_matches("src/sub/a.py", ["src/**/*.py"])
    assert path_matches("a.py", ["**/*.py"])
    assert not path_matches("tests/a.py", ["src/**"])


@pytest.mark.parametrize("bad", ["src/**.py", "/abs/**", "../up", "src/[ab.py", ""])
def test_bad_globs_are_plan_errors(bad: str) -> None:
    with pytest.raises(PlanError):
        path_matches("src/a.py", [bad])


def test_expand_claims(tmp_path: Path) -> None:
    write(tmp_path, {
        "src/a.py": "", "src/b.ts": "", "src/sub/c.py": "", "tests/t.py": "", ".env": "",
        ".git/config": "", ".yui/locks/x.json": "",
    })
    assert expand_claims(tmp_path, ["src/**/*.py"]) == ["src/a.py", "src/sub/c.py"]
    assert expand_claims(tmp_path, ["src"]) == ["src/a.py", "src/b.ts", "src/sub/c.py"]
    assert expand_claims(tmp_path, [".env", "src/new.py"]) == [".env", "src/new.py"]
    everything = expand_claims(tmp_path, ["**"])
    assert ".env" in everything and "tests/t.py" in everything
    assert not any(p.startswith((".git/", ".yui/")) for p in everything)


_SEGMENT = st.sampled_from(["src", "docs", "a.py", "b.md", "x", "*", "*.py", "**"])


@given(
    claims=st.lists(st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join), max_size=4),
    path=st.lists(st.sampled_from(["src", "docs", "a.py", "b.md", "x"]), min_size=1,
                  max_size=4).map("/".join),
)
def test_claim_set_covers_exactly_what_path_matches_does(claims: list[str], path: str) -> None:
    assert ClaimSet(claims).covers(path) == path_matches(path, claims)


_CLAIMS = st.lists(st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join), max_size=5)


@given(a=_CLAIMS, b=_CLAIMS)
def test_claim_sets_overlap_exactly_when_some_pair_of_their_claims_does(
        a: list[str], b: list[str]) -> None:
    """The set-level shortcuts (folder chains, only the literals along a glob's head) give
    the answer of comparing every pair."""
    pairwise = any(_globs_overlap(_claim_segments(x), _claim_segments(y)) for x in a for y in b)
    assert ClaimSet(a).overlaps(ClaimSet(b)) == pairwise
    assert ClaimSet(b).overlaps(ClaimSet(a)) == pairwise


def test_a_glob_is_compared_only_with_the_literals_along_its_head() -> None:
    held = ClaimSet([f"held/{i:04d}.txt" for i in range(5000)] + ["out"])
    assert ClaimSet(["out/r0/**"]).overlaps(held), "the folder 'out' holds it"
    assert not ClaimSet(["src/*.py"]).overlaps(held)
    assert ClaimSet(["held/00*.txt"]).overlaps(held)
    assert len(list(held._literals_near(("held", "00*.txt")))) == 5000
    assert list(held._literals_near(("src", "*.py"))) == []


def test_expand_claims_never_follows_a_symlinked_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x")
    os.symlink("src", tmp_path / "alias")
    # The alias is reported as the link itself, never as a second name for src/a.py: two
    # names for one file would let two tasks lease "different" paths and write the same file.
    assert expand_claims(tmp_path, ["**/*.py"]) == ["src/a.py"]
    assert expand_claims(tmp_path, ["alias/*.py"]) == []
    assert expand_claims(tmp_path, ["**"]) == ["alias", "src/a.py"]
