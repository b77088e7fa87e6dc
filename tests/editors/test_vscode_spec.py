"""A spec's task list in real VS Code (code-server): the server's code lens on the open
tasks.md runs the list with the Kiro double, the boxes tick in the editor, and the Yui Specs
view shows the spec done. Screenshots go to test-artifacts/ (docs/images/ keeps copies)."""

from __future__ import annotations

from pathlib import Path

import pytest
from editor_harness import git
from test_vscode import ARTIFACTS, code_server, drive, vscode_workspace  # noqa: F401

from tests.specs.samples import ROOMY, agent_env

TASKS = """\
# Implementation Plan

- [ ] 1. Create the greeting in `hello.py`
  write hello.py: print('hello')
  sleep 8
- [ ] 2. Create the farewell in `bye.py`
  write bye.py: print('bye')
  sleep 8
- [ ] 3. Document both in `NOTES.md`
  write NOTES.md: hello and bye
  _Depends: 1, 2_
"""


@pytest.fixture
def spec_workspace(vscode_workspace: Path, tmp_path: Path,  # noqa: F811
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace with a Kiro spec, and the Kiro double in the server's environment."""
    folder = vscode_workspace / ".kiro" / "specs" / "shop"
    folder.mkdir(parents=True)
    (folder / "tasks.md").write_text(TASKS)
    (vscode_workspace / "pyproject.toml").write_text(ROOMY)
    git(vscode_workspace, "add", "-A")
    git(vscode_workspace, "commit", "-qm", "spec")
    for name, value in agent_env(tmp_path, parties=1, fail=False).items():
        monkeypatch.setenv(name, value)
    return vscode_workspace


@pytest.mark.slow
@pytest.mark.vscode
def test_spec_lens_runs_the_list_and_ticks_the_editor(
    spec_workspace: Path, code_server: str, tmp_path: Path  # noqa: F811
) -> None:
    for stale in ("vscode-spec-running.png", "vscode-spec-done.png"):
        (ARTIFACTS / stale).unlink(missing_ok=True)
    report = drive(code_server, tmp_path, scenario="spec", file=".kiro/specs/shop/tasks.md",
                   lens="Run 3 tasks in parallel (2 waves)", ticks=3)
    assert "all 3 boxes ticked in the editor" in report
    assert "the specs view shows the spec done" in report
    assert (spec_workspace / "NOTES.md").read_text() == "hello and bye"
    assert (ARTIFACTS / "vscode-spec-done.png").stat().st_size > 10_000

