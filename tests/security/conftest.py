"""A user's repository worth protecting, programs that leave a mark if anything runs them,
and the real `yui` CLI to run hostile agents against it.

Every test here plays a hostile agent (a shell-worker command, or the ACP double) and then
checks what a user would notice: every file of their tree byte for byte (tracked, ignored,
untracked, and an edit made while the task ran), their ``.git`` (config, hooks, refs, HEAD,
info), that no mark left by "escaped" code exists, and that an ordinary task still works.
HOME points into the test's folder, so an agent writing ``~/.gitconfig`` writes there.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.cli.conftest import Done, cli_env, yui_argv
from tests.support import init_repo, needs_bwrap
from yui_lsp.agents.reaper import MARK_ENV
from yui_lsp.workspace import state_dir

PY = sys.executable


#: Each hostile case runs confined (bubblewrap) and unconfined: what yui itself guarantees
#: (never running agent-configured programs, never following links out, ending processes)
#: must hold either way.
CONFINE_MODES = [pytest.param("required", marks=needs_bwrap, id="bwrap"),
                 pytest.param("off", id="unconfined")]


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME (and XDG config) inside the test: agents may write ``~/.gitconfig``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """Where programs that should never run leave their mark (see :func:`program`)."""
    folder = tmp_path / "escaped"
    folder.mkdir()
    return folder


def program(marks: Path, name: str) -> str:
    """An executable that records that it ran (in ``marks/name``: "agent" when started by an
    agent process, which carries the run's mark, "yui" otherwise), then succeeds."""
    path = marks.parent / "programs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f"echo \"${{{MARK_ENV}:+agent}}${{{MARK_ENV}:-yui}}\" >> '{marks / name}'\n"
        "cat >/dev/null 2>&1 || true\n"
    )
    path.chmod(0o755)
    return str(path)


def ran(marks: Path, by: str | None = None) -> list[str]:
    """The programs that ran (only those run ``by`` "agent" or "yui", if given)."""
    return sorted(p.name for p in marks.iterdir()
                  if by is None or by in p.read_text().split())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A user mid-work: tracked files, an uncommitted edit, an untracked note, ignored
    build output, and yui's state folder already set up."""
    root = init_repo(tmp_path / "repo", {
        "src/app.py": "def main():\n    return 1\n",
        "src/util.py": "def helper():\n    return 2\n",
        "docs/guide.md": "# guide\n",
        ".gitignore": "build/\n*.log\n",
    })
    (root / "src" / "app.py").write_text("def main():\n    return 1  # unsaved idea\n")
    (root / "notes.txt").write_text("the user's untracked note\n")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_bytes(b"\x00\x01ignored build output")
    (root / "debug.log").write_text("ignored log\n")
    state_dir(root)
    return root


def user_state(root: Path) -> dict[str, bytes]:
    """Every file of the user's tree and ``.git`` (bytes, plus mode for .git files), but
    not objects (yui stores base commits there) nor yui's own state."""
    state: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".yui/", ".git/objects/")) or rel in (".yui", ".git/index"):
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            state[rel] = b"-> " + os.fsencode(os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            mode = f" {stat.S_IMODE(st.st_mode):o}".encode() if rel.startswith(".git/") else b""
            state[rel] = path.read_bytes() + mode
    return state


def settings_file(root: Path, confine: str, extra: str = "") -> None:
    """yui's settings for the repo (in ``.yui/``, not a user file)."""
    (root / ".yui" / "config.toml").write_text(
        f'confine = "{confine}"\nmax_cpu_percent = 100\nmin_free_memory_mb = 0\n'
        f"retry_backoff_s = 0.01\n{extra}"
    )


def shell(task_id: str, code: str, *, claims: Sequence[str] = ("**",),
          deps: Sequence[str] = (), args: Sequence[str] = ()) -> str:
    """A plan [[task]] whose agent runs ``python -c CODE ARGS``."""
    command = ", ".join(json.dumps(part) for part in (PY, "-c", code, *args))
    lines = ["[[task]]", f'id = "{task_id}"', 'agent = "shell"', f"command = [{command}]",
             "claims = [" + ", ".join(json.dumps(c) for c in claims) + "]"]
    if deps:
        lines.append("depends_on = [" + ", ".join(json.dumps(d) for d in deps) + "]")
    return "\n".join(lines) + "\n\n"


def run_plan(root: Path, tmp_path: Path, plan: str, *args: str, timeout: float = 120,
             env: dict[str, str] | None = None) -> Done:
    """`yui run PLAN --json` in ``root`` (the plan file lives outside the user's tree)."""
    path = tmp_path / f"plan-{len(list(tmp_path.glob('plan-*.toml')))}.toml"
    path.write_text("max_workers = 1\n" + plan)
    done = subprocess.run(
        yui_argv("run", str(path), "--json", *args), cwd=root,
        env={**cli_env(tmp_path), **(env or {})},
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def finals(done: Done) -> dict[str, dict[str, object]]:
    """Each task's last update from a `--json` run (every stdout line must be JSON)."""
    last: dict[str, dict[str, object]] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "task_update":
            last[message["task_id"]] = message
    return last


def user_git(root: Path, *args: str) -> str:
    """git as the user runs it, minus the global config: agents can write the user's home
    (docs/security.md says so), and what they put there is not what is under test."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True,
                          text=True, timeout=30).stdout


def ordinary_task_works(root: Path, tmp_path: Path) -> None:
    """The repository still takes an ordinary task, and it lands."""
    before = (root / "docs" / "guide.md").read_text()
    code = "open('docs/guide.md', 'a').write('one more line\\n')"
    done = run_plan(root, tmp_path, shell("ordinary", code, claims=["docs/guide.md"]))
    assert done.code == 0, done.stderr
    assert finals(done)["ordinary"]["status"] == "completed"
    assert (root / "docs" / "guide.md").read_text() == before + "one more line\n"
    assert user_git(root, "status", "--porcelain", "docs/guide.md").startswith(" M")
