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


def test_a_hand_edited_config_is_named_by_the_file_that_is_wrong(repo: Path, yui: Yui) -> None:
    (repo / "pyproject.toml").write_text("[tool]\nyui = 5\n")
    wrong_shape = yui("recover")
    _said_plainly(wrong_shape.stdout + wrong_shape.stderr)
    assert wrong_shape.code == 2
    assert "invalid [tool.yui] in pyproject.toml: `yui` is int 5, not a table" \
        in wrong_shape.stderr

    (repo / "pyproject.toml").write_text("[tool.yui]\nmax_workers = 2\n")
    (repo / ".yui").mkdir(mode=0o700, exist_ok=True)
    (repo / ".yui" / "config.toml").write_text('max_workers = "four"\n')
    (repo / ".yui" / "config.toml").chmod(0o600)
    wrong_value = yui("recover")
    assert wrong_value.code == 2
    assert "invalid .yui/config.toml: max_workers:" in wrong_value.stderr, wrong_value.stderr
