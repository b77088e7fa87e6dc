"""Three-way merge and integration: both sides' work lands, or the conflict is reported."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from yui_lsp.protocol import ChangeKind, ChangeSet, FileChange, LockRecord, utcnow
from yui_lsp.workspace import DiskReader, integrate, merge3

BASE = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\n"


def test_clean_merge_keeps_both_sides() -> None:
    ours = BASE.replace(b"two", b"TWO (user)")
    theirs = BASE.replace(b"six", b"SIX (agent)")
    outcome = merge3(BASE, ours, theirs, "f.txt")
    assert outcome.conflict is None
    assert outcome.content == BASE.replace(b"two", b"TWO (user)").replace(b"six", b"SIX (agent)")


def test_overlapping_edits_conflict_with_hunks_and_ranges_in_ours() -> None:
    ours = b"zero\n" + BASE.replace(b"four", b"FOUR user")
    theirs = BASE.replace(b"four", b"FOUR agent")
    outcome = merge3(BASE, ours, theirs, "f.txt")
    assert outcome.content is None and outcome.conflict is not None
    assert "FOUR user" in outcome.conflict.hunks and "FOUR agent" in outcome.conflict.hunks
    assert "<<<<<<< f.txt (workspace)" in outcome.conflict.hunks
    # "FOUR user" is line 4 (0-based) of ours, after the inserted "zero".
    assert outcome.conflict.ranges == [(4, 5)]


def test_one_sided_changes_and_deletions() -> None:
    assert merge3(BASE, BASE, b"agent", "f").content == b"agent"
    assert merge3(BASE, b"user", BASE, "f").content == b"user"
    assert merge3(BASE, BASE, None, "f").content is None  # agent deletes, user didn't touch
    assert merge3(None, None, b"new", "f").content == b"new"
    assert merge3(BASE, b"same", b"same", "f").content == b"same"


def test_delete_versus_modify_is_a_conflict() -> None:
    deleted_by_agent = merge3(BASE, BASE + b"more\n", None, "f")
    deleted_by_user = merge3(BASE, None, BASE + b"more\n", "f")
    for outcome in (deleted_by_agent, deleted_by_user):
        assert outcome.conflict is not None and "deleted" in outcome.conflict.reason


def test_binary_and_non_utf8_files_are_never_blended() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256))
    assert merge3(png, png, png + b"agent", "i.png").content == png + b"agent"
    clash = merge3(png, png + b"user", png + b"agent", "i.png")
    assert clash.conflict is not None and "binary" in clash.conflict.reason
    latin1 = "caf\xe9\n".encode("latin-1")
    assert merge3(latin1, latin1, latin1 + b"x\n", "l.txt").content == latin1 + b"x\n"
    assert merge3(latin1, latin1 + b"u\n", b"a\n" + latin1, "l.txt").conflict is not None


def test_both_created_differently_is_a_conflict() -> None:
    outcome = merge3(None, b"user version\n", b"agent version\n", "new.txt")
    assert outcome.conflict is not None and "created" in outcome.conflict.reason


# --------------------------------------------------------------------------- property

# Sparse edits, so that many examples merge cleanly and the "both kept" half is exercised.
_EDIT = st.sampled_from(["keep"] * 8 + ["delete", "replace"])
_INSERT = st.sampled_from([False] * 7 + [True])


def _apply_edits(base: list[str], edits: list[str], inserts: list[bool], tag: str
                 ) -> tuple[list[str], set[str], set[str]]:
    out: list[str] = []
    added: set[str] = set()
    removed: set[str] = set()
    for i, line in enumerate(base):
        if edits[i] == "keep":
            out.append(line)
        else:
            removed.add(line)
            if edits[i] == "replace":
                out.append(f"{tag}-replaced-{i}")
                added.add(out[-1])
        if inserts[i]:
            out.append(f"{tag}-inserted-{i}")
            added.add(out[-1])
    return out, added, removed


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), size=st.integers(1, 20))
def test_merge_never_silently_drops_a_side(data: st.DataObject, size: int) -> None:
    base = [f"base-{i}" for i in range(size)]
    sides = {}
    for tag in ("user", "agent"):
        edits = data.draw(st.lists(_EDIT, min_size=size, max_size=size))
        inserts = data.draw(st.lists(_INSERT, min_size=size, max_size=size))
        sides[tag] = _apply_edits(base, edits, inserts, tag)
    ours, theirs = (("\n".join(sides[t][0]) + "\n").encode() for t in ("user", "agent"))
    outcome = merge3(("\n".join(base) + "\n").encode(), ours, theirs, "f.txt")
    event("conflict" if outcome.conflict else "clean")
    if outcome.conflict is not None:
        assert outcome.content is None and outcome.conflict.hunks
        return
    assert outcome.content is not None
    merged = set(outcome.content.decode().splitlines())
    for tag in ("user", "agent"):
        _, added, removed = sides[tag]
        assert added <= merged, f"{tag}'s new lines were lost"
        assert not (removed & merged), f"{tag}'s deletions were undone"


# --------------------------------------------------------------------------- integrate


class FakeSandbox:
    """A change source with fixed base and current contents."""

    def __init__(self, base: dict[str, bytes], now: dict[str, bytes]) -> None:
        self.base, self.now = base, now

    def base_bytes(self, rel: str) -> bytes | None:
        return self.base.get(rel)

    def read(self, rel: str) -> bytes | None:
        return self.now.get(rel)


def _lease(task: str) -> LockRecord:
    return LockRecord(file_path="docs/**", locked_by=task, acquired_at=utcnow(),
                      expires_at=utcnow(), owner_pid=1, host="h", task_title="Docs")


def test_integrate_merges_claims_and_respects_other_leases(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "src" / "a.py").write_bytes(BASE.replace(b"one", b"ONE user"))
    (tmp_path / "docs" / "x.md").write_bytes(b"doc\n")
    (tmp_path / "old.txt").write_bytes(b"moved\n")
    sandbox = FakeSandbox(
        base={"src/a.py": BASE, "docs/x.md": b"doc\n", "old.txt": b"moved\n"},
        now={"src/a.py": BASE.replace(b"seven", b"SEVEN agent"), "docs/x.md": b"doc agent\n",
             "new.txt": b"moved\n", "extra.txt": b"free\n"},
    )
    changes = ChangeSet(task_id="t", base="b", changes=[
        FileChange(path="src/a.py", kind=ChangeKind.MODIFY),
        FileChange(path="docs/x.md", kind=ChangeKind.MODIFY),
        FileChange(path="new.txt", kind=ChangeKind.RENAME, old_path="old.txt"),
        FileChange(path="extra.txt", kind=ChangeKind.CREATE),
    ])
    holders = {"docs/x.md": _lease("docs-task")}
    result = integrate(changes, sandbox, DiskReader(tmp_path), ["src/**"], holders.get)
    assert [c.path for c in result.conflicts] == ["docs/x.md"]
    assert "leased by task docs-task (Docs)" in result.conflicts[0].reason
    by_path = {f.path: f for f in result.files}
    assert by_path["src/a.py"].content == BASE.replace(b"one", b"ONE user").replace(
        b"seven", b"SEVEN agent")
    assert by_path["src/a.py"].expected == BASE.replace(b"one", b"ONE user")
    assert by_path["new.txt"].kind is ChangeKind.RENAME
    assert by_path["new.txt"].old_path == "old.txt"
    assert by_path["extra.txt"].kind is ChangeKind.CREATE
    assert by_path["extra.txt"].expected is None


def test_integrate_reports_user_deleted_file_the_agent_changed(tmp_path: Path) -> None:
    sandbox = FakeSandbox(base={"a.txt": b"a\n"}, now={"a.txt": b"a agent\n"})
    changes = ChangeSet(task_id="t", base="b",
                        changes=[FileChange(path="a.txt", kind=ChangeKind.MODIFY)])
    result = integrate(changes, sandbox, DiskReader(tmp_path), ["**"], lambda _p: None)
    assert not result.ok and "deleted in the workspace" in result.conflicts[0].reason
