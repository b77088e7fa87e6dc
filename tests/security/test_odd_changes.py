"""Case 7 of the hostile-agent suite: changes agents make with git itself or with odd names.
``git mv``/``git rm`` in the sandbox, a name holding a backslash, a repository nested in the
tree (``git init sub``, as ``cargo new`` does) all land; a name that is not UTF-8 is refused
with a message naming it — through `yui run --json` and through the language server, which
keeps serving the folder afterwards."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from tests.security.conftest import (
    finals,
    ordinary_task_works,
    run_plan,
    settings_file,
    shell,
    user_git,
    user_state,
)
from tests.server.editor import python_command, start_editor

GIT_WORK = textwrap.dedent("""
    import os, subprocess
    def git(*args, cwd="."):
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)
    git("mv", "src/app.py", "src/main.py")
    git("rm", "-q", "src/util.py")
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "the agent commits")
    open("a\\\\b.txt", "w").write("a backslash is part of the name\\n")
    # A nested repository with a commit, one without, and one nested in that.
    git("init", "-q", "sub")
    open("sub/lib.py", "w").write("LIB = 1\\n")
    git("add", "-A", cwd="sub")
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "sub", cwd="sub")
    git("init", "-q", "fresh")
    os.makedirs("fresh/pkg")
    open("fresh/pkg/mod.py", "w").write("MOD = 2\\n")
    git("init", "-q", "fresh/inner")
    open("fresh/inner/deep.txt", "w").write("deep\\n")
""")


def test_git_mv_rm_backslashes_and_nested_repositories_land(repo: Path, tmp_path: Path) -> None:
    settings_file(repo, "auto")
    before = user_state(repo)
    done = run_plan(repo, tmp_path, shell("git-work", GIT_WORK))
    final = finals(done)["git-work"]
    assert final["status"] == "completed", final["error"]
    after = user_state(repo)
    assert after["src/main.py"] == before["src/app.py"]
    assert "src/app.py" not in after and "src/util.py" not in after
    assert after["a\\b.txt"] == b"a backslash is part of the name\n"
    assert not (repo / "a").exists()
    assert after["sub/lib.py"] == b"LIB = 1\n"
    assert after["fresh/pkg/mod.py"] == b"MOD = 2\n"
    assert after["fresh/inner/deep.txt"] == b"deep\n"
    # Files only: no nested .git lands, and the user's own .git is as it was.
    assert not [rel for rel in after if "/.git" in rel]
    assert all(after[rel] == data for rel, data in before.items() if rel.startswith(".git/"))
    # The user's HEAD did not move (the agent's commit stayed in the sandbox).
    assert user_git(repo, "log", "--format=%s").splitlines() == ["init"]
    ordinary_task_works(repo, tmp_path)


NOT_UTF8 = textwrap.dedent("""
    import os
    open(os.fsencode("src") + b"/caf\\xe9.py", "w").write("x = 1\\n")
    open("src/fine.py", "w").write("fine = 1\\n")
""")


def test_a_file_name_that_is_not_utf8_is_refused_with_its_name(
    repo: Path, tmp_path: Path
) -> None:
    settings_file(repo, "auto")
    before = user_state(repo)
    done = run_plan(repo, tmp_path, shell("latin1", NOT_UTF8))
    final = finals(done)["latin1"]  # every line of --json output parsed
    assert final["status"] == "failed"
    assert "not UTF-8" in str(final["error"]) and "src/caf\\xe9.py" in str(final["error"])
    assert "internal error" not in done.stdout + done.stderr
    assert done.code == 1, done.stderr
    assert user_state(repo) == before
    assert not any(name.startswith(b"caf") for name in os.listdir(os.fsencode(repo / "src")))
    ordinary_task_works(repo, tmp_path)


async def test_the_language_server_survives_a_name_that_is_not_utf8(
    repo: Path, tmp_path: Path
) -> None:
    editor = await start_editor(repo, tmp_path / "cache",
                                {"maxCpuPercent": 100, "minFreeMemoryMb": 0})
    try:
        odd = await editor.run("yui.submitTask", {
            "title": "latin1", "agent": "yui", "claims": ["src/**"],
            "command": python_command(NOT_UTF8)})
        failed = await editor.finished(odd["taskId"])
        assert failed["status"] == "failed"
        assert "not UTF-8" in (failed["error"] or "")
        # The folder's coordinator is still there: it lists the task and runs the next one.
        listed = await editor.run("yui.listTasks", {})
        assert [t["task"]["id"] for t in listed["tasks"]] == [odd["taskId"]]
        fine = await editor.run("yui.submitTask", {
            "title": "fine", "agent": "yui", "claims": ["src/fine.py"],
            "command": python_command("open('src/fine.py', 'w').write('fine = 2\\n')")})
        assert (await editor.finished(fine["taskId"]))["status"] == "completed"
        assert (repo / "src" / "fine.py").read_text() == "fine = 2\n"
    finally:
        await editor.client.shutdown_session()
        await editor.client.stop()  # type: ignore[no-untyped-call]
