"""Damaged or hand-edited state under `.yui/` and odd arguments: a clear error that says what
to do, nothing of the user's lost, never an internal error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.conftest import Yui


def _said_plainly(out: str) -> None:
    assert "internal error" not in out and "Traceback" not in out, out


def test_a_journal_that_does_not_add_up_is_named_and_kept(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "src/a.py")
    assert done.code == 0, done.stderr
    journal = repo / ".yui" / "journal" / "refactor-1"
    shutil.copytree(repo / ".yui" / "backups" / "refactor-1", journal)
    (journal / "committed").unlink()
    body = json.loads((journal / "manifest.json").read_bytes())
    del body["pack_size"]  # not a crash's doing: a torn manifest does not parse at all
    (journal / "manifest.json").write_text(json.dumps(body))

    for args in (("recover",), ("refactor", "--pattern", "old_name", "--replacement", "x",
                                "--files", "src/b.py")):
        failed = yui(*args)
        _said_plainly(failed.stdout + failed.stderr)
        assert failed.code == 2
        assert ".yui/journal/refactor-1 is damaged (manifest.json has no 'pack_size')" \
            in failed.stderr and "move the folder out of .yui/journal/" in failed.stderr
    assert (journal / "manifest.json").exists()
    assert (repo / "src" / "b.py").read_text() == "from old_name import thing  # b\n"
