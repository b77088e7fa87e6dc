"""Untrusted state: nothing under .git/ or .yui/ ever lands from a task, and yui never trusts
what is under .yui/ more than its owner (forged journals, leases, task tables, config).

Each case runs through the real `yui` CLI where a user would meet it, and checks the user's
files and the repository afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from tests.security.conftest_input import (  # noqa: F401
    Yui,
    git,
    head_state,
    repo_fixture,
    shell_task,
    tree_modes,
    write_plan,
    yui_fixture,
)
from yui_lsp.errors import ProtectedPathError, UntrustedStateError
from yui_lsp.protocol import ChangeKind
from yui_lsp.workspace import Integration, JournaledApplier, MergedFile, recover
from yui_lsp.workspace import journal as jr
from yui_lsp.workspace.paths import protected_part

_NOBODY = 65534


def _writes(files: dict[str, str]) -> str:
    """Python code writing ``files`` (path -> text) in the sandbox."""
    return "import pathlib\n" + "".join(
        f"p = pathlib.Path({rel!r}); p.parent.mkdir(parents=True, exist_ok=True); "
        f"p.write_text({text!r})\n" for rel, text in files.items()
    )


def _ordinary_task_lands(repo: Path, yui: Yui) -> None:
    write_plan(repo, shell_task("after", _writes({"out/after.txt": "fine"}), ["out/**"]),
               "after.toml")
    done = yui("run", "after.toml")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "out" / "after.txt").read_text() == "fine"


# --------------------------------------------------------------------------- .yui/ and .git/


def test_a_gitignore_reincluding_yui_does_not_let_a_task_write_its_config(
    repo: Path, yui: Yui
) -> None:
    before = head_state(repo)
    evil = _writes({
        ".gitignore": "!.yui/\n!.yui/**\n",
        ".yui/config.toml": 'confine = "off"\n',
        "src/a.py": "A = 'changed along'\n",
    })
    write_plan(repo, shell_task("evil", evil, ["**"]))
    done = yui("run", "plan.toml")

    assert done.code != 0
    assert "no task may change anything under .git/ or .yui/" in done.stdout + done.stderr
    assert ".yui/config.toml" in done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    assert not (repo / ".yui" / "config.toml").exists()
    # The whole result is refused: not even the task's other changes land.
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"
    assert (repo / ".gitignore").read_text() == "*.log\n"
    assert (repo / "notes.log").read_text() == "ignored and untracked\n"
    assert head_state(repo)[0] == before[0]
    _ordinary_task_lands(repo, yui)


@pytest.mark.parametrize("rel", [
    ".git/hooks/pre-commit", ".git/config", "sub/.git/config", ".GIT/hooks/post-checkout",
    ".yui/config.toml", ".yui", "lib/.Yui/locks/x.json",
])
def test_the_journaled_apply_refuses_any_path_under_git_or_yui(repo: Path, rel: str) -> None:
    applier = JournaledApplier(repo, retention=5)
    integration = Integration("t1", [
        MergedFile(path="src/a.py", kind=ChangeKind.MODIFY, content=b"A = 9\n",
                   expected=b"A = 1\n"),
        MergedFile(path=rel, kind=ChangeKind.CREATE, content=b"#!/bin/sh\necho pwned\n",
                   expected=None, mode=0o100755),
    ])
    with pytest.raises(ProtectedPathError, match=r"no task may change anything under \.git/"):
        applier.apply_sync("t1", integration)
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"
    assert not (repo / rel).is_file() or b"pwned" not in (repo / rel).read_bytes()
    assert protected_part(rel) is not None


def test_paths_that_only_look_alike_are_not_protected() -> None:
    for rel in ("src/.gitignore", ".github/workflows/ci.yml", "a.git/x", "yui/.yuirc", ".gitkeep"):
        assert protected_part(rel) is None


def test_an_acp_agent_cannot_write_under_yui_through_the_file_service(
    repo: Path, yui: Yui, tmp_path: Path
) -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    (repo / "pyproject.toml").write_text(
        '[tool.yui.agents.acp-allow]\nkind = "kiro-acp"\npermission_policy = "allow"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    write_plan(repo, """[[task]]
id = "acp"
agent = "acp-allow"
prompt = '''
write .yui/config.toml: confine = 'off'
write .git/hooks/pre-commit: echo x
write src/new.py: N = 1'''
claims = ["src/**"]
""")
    # The double's `#!/usr/bin/env python3` must find the Python that has the acp SDK.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = yui("run", "plan.toml", "--json", env={
        "YUI_KIRO_CLI": str(fixtures / "kiro-cli"), "KIRO_API_KEY": "test-key", "PATH": path})
    output = done.stdout + done.stderr
    assert "refused write to .yui/config.toml" in output
    assert "refused write to .git/hooks/pre-commit" in output
    assert not (repo / ".yui" / "config.toml").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert (repo / "src" / "new.py").read_text() == "N = 1"


# --------------------------------------------------------------------------- forged journals


def _forge_journal(root: Path, task_id: str, ops: list[tuple[str, bytes, int | None]]) -> Path:
    """A complete journal (format 2) asking to create each ``(path, content, mode)``."""
    folder = root / ".yui" / "journal" / task_id
    folder.mkdir(parents=True)
    (root / ".yui" / "journal").mkdir(parents=True, exist_ok=True)
    pack = b"".join(content for _, content, _ in ops)
    entries, offset = [], 0
    for path, content, mode in ops:
        entries.append({"path": path, "new": [offset, len(content)], "old": None,
                        "mode": mode, "old_mode": None})
        offset += len(content)
    (folder / jr.PACK).write_bytes(pack)
    (folder / jr.MANIFEST).write_text(json.dumps({
        "format": 2, "task_id": task_id, "pack_size": len(pack),
        "pack_sha256": hashlib.sha256(pack).hexdigest(), "ops": entries}))
    return folder


def test_recover_never_creates_a_setuid_setgid_or_sticky_file(repo: Path, yui: Yui) -> None:
    _forge_journal(repo, "forged", [
        ("tool", b"#!/bin/sh\nid\n", 0o104755),
        ("group-tool", b"#!/bin/sh\nid\n", 0o102777),
        ("sticky.txt", b"x\n", 0o101666),
    ])
    done = yui("recover")
    assert done.code == 0, done.stdout + done.stderr
    for name in ("tool", "group-tool", "sticky.txt"):
        mode = os.lstat(repo / name).st_mode
        assert mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX) == 0, (name, oct(mode))
        assert mode & 0o022 == 0, (name, oct(mode))  # never more than the umask allows
    assert os.lstat(repo / "tool").st_mode & 0o111  # the executable bit is kept


def test_a_rewrite_keeps_the_files_permissions_and_only_the_executable_bit_follows(
    repo: Path
) -> None:
    secret = repo / "src" / "a.py"
    secret.chmod(0o600)
    applier = JournaledApplier(repo, retention=5)
    applier.apply_sync("x", Integration("x", [MergedFile(
        path="src/a.py", kind=ChangeKind.MODIFY, content=b"A = 2\n", expected=b"A = 1\n",
        mode=0o100755)]))
    assert stat.S_IMODE(secret.stat().st_mode) == 0o700  # not 0o755: never opened to others
    applier.apply_sync("y", Integration("y", [MergedFile(
        path="src/a.py", kind=ChangeKind.MODIFY, content=b"A = 3\n", expected=b"A = 2\n",
        mode=0o100644)]))
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_a_forged_journal_writing_under_git_is_refused(repo: Path, yui: Yui) -> None:
    _forge_journal(repo, "hook", [(".git/hooks/pre-commit", b"#!/bin/sh\ntouch /tmp/x\n",
                                   0o100755)])
    done = yui("recover")
    assert done.code != 0
    assert "no task may change anything under .git/ or .yui/" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.parametrize("forgery", ["other-owner", "group-writable", "symlink", "file-owner"])
def test_a_journal_that_is_not_the_users_own_is_refused(
    repo: Path, yui: Yui, tmp_path: Path, forgery: str
) -> None:
    if forgery == "symlink":
        real = _forge_journal(tmp_path / "elsewhere", "forged", [("planted.txt", b"x\n", None)])
        (repo / ".yui" / "journal").mkdir(parents=True)
        (repo / ".yui" / "journal" / "forged").symlink_to(real)
    else:
        folder = _forge_journal(repo, "forged", [("planted.txt", b"planted\n", None)])
        if forgery == "other-owner":
            os.chown(folder, _NOBODY, _NOBODY)
        elif forgery == "group-writable":
            folder.chmod(0o770)
        else:
            os.chown(folder / jr.MANIFEST, _NOBODY, _NOBODY)
    done = yui("recover")
    assert done.code != 0
    line = done.stderr.strip().splitlines()[-1]
    assert "yui does not use state another user or program could have written" in line
    assert {"other-owner": "belongs to user", "group-writable": "writable by its group",
            "symlink": "is a symlink", "file-owner": "belongs to user"}[forgery] in line
    assert not (repo / "planted.txt").exists()
    with pytest.raises(UntrustedStateError):
        recover(repo)


# --------------------------------------------------------------------------- other state


def test_a_lease_file_another_user_wrote_is_refused(repo: Path, yui: Yui) -> None:
    locks = repo / ".yui" / "locks"
    locks.mkdir(parents=True)
    forged = locks / "squatter.json"
    forged.write_text("[]")
    os.chown(forged, _NOBODY, _NOBODY)
    write_plan(repo, shell_task("t", _writes({"src/a.py": "A = 5\n"}), ["src/a.py"]))
    done = yui("run", "plan.toml")
    assert done.code != 0
    assert "squatter.json belongs to user" in done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    assert (repo / "src" / "a.py").read_text() == "A = 1\n"


@pytest.mark.parametrize("forgery", ["other-owner", "group-writable", "symlink"])
def test_a_config_toml_that_is_not_the_users_own_is_refused(
    repo: Path, yui: Yui, tmp_path: Path, forgery: str
) -> None:
    state = repo / ".yui"
    state.mkdir()
    config = state / "config.toml"
    if forgery == "symlink":
        (tmp_path / "evil.toml").write_text('confine = "off"\n')
        config.symlink_to(tmp_path / "evil.toml")
    else:
        config.write_text('confine = "off"\n')
        if forgery == "other-owner":
            os.chown(config, _NOBODY, _NOBODY)
        else:
            config.chmod(0o664)
    done = yui("recover")  # `yui status` and `yui locks` do not read the configuration
    assert done.code != 0
    assert "config.toml" in done.stderr and "yui does not use state" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_coordinator_entry_another_user_wrote_is_refused(repo: Path, yui: Yui) -> None:
    victim = repo / "README.md"
    entries = repo / ".yui" / "coordinators"
    entries.mkdir(parents=True)
    forged = entries / "ghost.json"
    # A dead pid: yui would clean the entry up, unlinking the "socket" it names.
    forged.write_text(json.dumps({"coordinator_id": "ghost", "pid": 2**22 + 7, "host": os.uname()
                                  .nodename, "socket": str(victim), "started_at": "x"}))
    os.chown(forged, _NOBODY, _NOBODY)
    done = yui("status")
    assert done.code != 0
    assert "ghost.json belongs to user" in done.stderr
    assert victim.exists()


def test_a_run_leaves_everything_under_yui_owner_only_even_with_umask_0(
    repo: Path, yui: Yui
) -> None:
    secret = "sk-ant-api03-" + "x" * 30
    write_plan(repo, shell_task("t", _writes({"src/a.py": "A = 5\n"}) + f"print({secret!r})",
                                ["src/a.py"], args=["--password", "hunter2"]))
    done = yui("run", "plan.toml", umask=0)
    assert done.code == 0, done.stdout + done.stderr
    modes = tree_modes(repo / ".yui")
    assert {"tasks", "logs", "audit.jsonl", "backups", "locks"} <= {p.split("/")[0] for p in modes}
    loose = {p: oct(m) for p, m in modes.items()
             if m & 0o077 and not stat.S_ISSOCK(os.lstat(repo / ".yui" / p).st_mode)}
    assert loose == {}
    everything = "".join(
        (Path(d) / f).read_text(errors="replace")
        for d, _, fs in os.walk(repo / ".yui") for f in fs
        if not f.endswith((".pack", ".lock", ".sock")))
    assert secret not in everything
    assert "hunter2" not in everything
    # An older yui's loose .yui/ is tightened on the next run.
    (repo / ".yui").chmod(0o755)
    assert yui("locks").code == 0
    assert stat.S_IMODE((repo / ".yui").stat().st_mode) == 0o700
