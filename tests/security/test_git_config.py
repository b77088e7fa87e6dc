"""Cases 1 and 2 of the hostile-agent suite: git config an agent can write, and a sandbox
``.git`` entry that points elsewhere. yui must never run what the agent configured, never
act on the user's tree through the agent's git directory, and the user's ``.git`` must
come out exactly as it went in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.security.conftest import (
    CONFINE_MODES,
    finals,
    ordinary_task_works,
    program,
    ran,
    run_plan,
    settings_file,
    shell,
    user_git,
    user_state,
)

#: Every git config key we know of that makes git run a program (or read more config).
PROGRAM_KEYS = (
    "core.fsmonitor", "diff.external", "core.pager", "core.editor", "core.sshCommand",
    "core.askPass", "credential.helper", "filter.evil.clean", "filter.evil.smudge",
    "filter.evil.process", "diff.evil.textconv", "diff.evil.command", "merge.evil.driver",
    "gpg.program", "core.alternateRefsCommand", "sequence.editor", "pager.status",
    "pager.diff", "alias.status",
)
HOOKS = ("pre-commit", "post-checkout", "post-index-change", "reference-transaction",
         "post-commit", "pre-auto-gc", "fsmonitor-watchman", "post-merge")

# The agent: configures every program-running key (in its own .git, in the global config,
# through include.path and includeIf, and in yui's git directory when it can reach it),
# drops hooks, names the filter in .gitattributes, then makes an ordinary edit.
HOSTILE_CONFIG = textwrap.dedent("""
    import json, os, shutil, subprocess, sys
    progs = json.loads(sys.argv[1])
    def config(*args):
        subprocess.run(["git", "config", *args], check=False, capture_output=True)
    for key, prog in progs["keys"].items():
        config(key, prog)
        config("--global", key, prog)
    config("commit.gpgSign", "true")
    inc = os.path.abspath("included.cfg")
    with open(inc, "w") as fh:
        fh.write("[core]\\n\\tfsmonitor = %s\\n" % progs["keys"]["core.fsmonitor"])
    config("include.path", inc)
    config("includeIf.gitdir:/.path", inc)
    hooks = os.path.abspath("hooks")
    os.makedirs(hooks)
    os.makedirs(".git/hooks", exist_ok=True)
    for name, prog in progs["hooks"].items():
        shutil.copy(prog, os.path.join(hooks, name))
        shutil.copy(prog, os.path.join(".git", "hooks", name))
    config("core.hooksPath", hooks)
    # yui's own git directory beside the sandbox: read-only under bubblewrap, rewritten
    # before use otherwise.
    yui_git = os.getcwd() + ".gitdir"
    for key, prog in progs["keys"].items():
        subprocess.run(["git", "--git-dir", yui_git, "config", key, prog], capture_output=True)
    subprocess.run(["git", "--git-dir", yui_git, "config", "core.hooksPath", hooks],
                   capture_output=True)
    open(".gitattributes", "w").write("* filter=evil diff=evil merge=evil\\n")
    # The agent's own git may run them (and hang on filter.evil.process): its business.
    for args in (["add", "-A"], ["commit", "-qm", "agent"], ["status"]):
        try:
            subprocess.run(["git", *args], capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            pass
    open("src/util.py", "a").write("# agent edit\\n")
""")


def _programs(marks: Path) -> str:
    import json

    return json.dumps({
        "keys": {key: program(marks, key.replace(".", "-")) for key in PROGRAM_KEYS},
        "hooks": {hook: program(marks, f"hook-{hook}") for hook in HOOKS},
    })


@pytest.mark.parametrize("confine", CONFINE_MODES)
def test_git_config_an_agent_writes_never_runs_in_yui(
    repo: Path, tmp_path: Path, marks: Path, confine: str
) -> None:
    settings_file(repo, confine)
    before = user_state(repo)
    done = run_plan(repo, tmp_path, shell("configure", HOSTILE_CONFIG, args=[_programs(marks)]))
    assert finals(done)["configure"]["status"] == "completed", finals(done)["configure"]["error"]
    assert done.code == 0, done.stderr
    # The agent's own git may have run some of them in the sandbox (confined under
    # bubblewrap, like the agent): its business. yui itself must never run one.
    assert ran(marks, by="yui") == []
    after = user_state(repo)
    landed = {rel for rel in after if after.get(rel) != before.get(rel)}
    assert landed == {"src/util.py", ".gitattributes", "included.cfg"} | {
        f"hooks/{h}" for h in HOOKS}
    assert after["src/util.py"] == b"def helper():\n    return 2\n# agent edit\n"
    assert {rel: after[rel] for rel in before} == {
        rel: (after["src/util.py"] if rel == "src/util.py" else data)
        for rel, data in before.items()}
    # The user's git directory is untouched: config, hooks, refs, HEAD, info/exclude.
    assert all(after[rel] == data for rel, data in before.items() if rel.startswith(".git/"))
    # The landed .gitattributes names the filter; yui's next hand-out (which hashes the
    # user's uncommitted changes) must still run nothing.
    user_git(repo, "status", "--porcelain")
    ordinary_task_works(repo, tmp_path)
    assert ran(marks, by="yui") == []


HOSTILE_GITDIR = textwrap.dedent("""
    import os, shutil, subprocess, sys, time
    workspace, evil, mode, go = sys.argv[1:5]
    # A git directory whose work tree is the user's workspace, borrowing its objects.
    os.makedirs(os.path.join(evil, "objects", "info"), exist_ok=True)
    os.makedirs(os.path.join(evil, "refs"), exist_ok=True)
    head = open(".git/HEAD").read()
    open(os.path.join(evil, "HEAD"), "w").write(head)
    open(os.path.join(evil, "config"), "w").write(
        "[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n\\tworktree = %s\\n"
        % workspace)
    open(os.path.join(evil, "objects", "info", "alternates"), "w").write(
        os.path.join(workspace, ".git", "objects") + "\\n")
    shutil.rmtree(".git")
    if mode == "gitfile":
        open(".git", "w").write("gitdir: %s\\n" % evil)
    elif mode == "symlink-to-user-git":
        os.symlink(os.path.join(workspace, ".git"), ".git")
    elif mode == "commondir":
        os.makedirs(".git")
        open(".git/commondir", "w").write(os.path.join(workspace, ".git") + "\\n")
        open(".git/HEAD", "w").write(head)
    # yui's own git directory too (read-only under bubblewrap).
    yui_git = os.getcwd() + ".gitdir"
    try:
        with open(os.path.join(yui_git, "config"), "a") as fh:
            fh.write("[core]\\n\\tworktree = %s\\n" % workspace)
        open(os.path.join(yui_git, "commondir"), "w").write(evil + "\\n")
    except OSError:
        pass
    open("src/app.py", "a").write("# agent edit\\n")
    open("new_by_agent.txt", "w").write("from the agent\\n")
    # Wait until the user has edited a file while the task runs.
    while not os.path.exists(go):
        time.sleep(0.02)
""")


@pytest.mark.parametrize("shape", ["gitfile", "symlink-to-user-git", "commondir"])
@pytest.mark.parametrize("confine", CONFINE_MODES)
def test_a_sandbox_git_entry_pointing_elsewhere_is_never_followed(
    repo: Path, tmp_path: Path, confine: str, shape: str
) -> None:
    settings_file(repo, confine)
    go = tmp_path / "go"
    evil = tmp_path / "evil"
    plan = shell("redirect", HOSTILE_GITDIR, args=[str(repo), str(evil), shape, str(go)])
    import subprocess

    from tests.cli.conftest import cli_env, yui_argv

    path = tmp_path / "plan.toml"
    path.write_text("max_workers = 1\n" + plan)
    proc = subprocess.Popen(yui_argv("run", str(path), "--json"), cwd=repo,
                            env=cli_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        from tests.support import wait_for

        wait_for(lambda: (evil / "HEAD").exists())
        # The user edits a file (not one the agent touches) while the task runs.
        (repo / "docs" / "guide.md").write_text("# guide\nedited during the task\n")
        before = user_state(repo)
        go.touch()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    after = user_state(repo)
    expected = dict(before)
    expected["src/app.py"] = before["src/app.py"] + b"# agent edit\n"
    expected["new_by_agent.txt"] = b"from the agent\n"
    assert after == expected
    assert (repo / "build" / "out.bin").read_bytes() == b"\x00\x01ignored build output"
    assert (repo / "notes.txt").exists() and (repo / "debug.log").exists()
    ordinary_task_works(repo, tmp_path)
