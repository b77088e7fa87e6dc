"""Case 5 of the hostile-agent suite: processes an agent leaves behind. Each escapee keeps
writing into its sandbox; yui must end every one when the task ends, so none can write into
the pooled sandbox the next task gets (or anywhere else)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import psutil
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

# One escapee: says it started, waits until the next task runs (it creates "go"), then
# writes into the folder it was started in, forever.
LOOP = textwrap.dedent("""
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    where, started, name = sys.argv[1], sys.argv[2], sys.argv[3]
    open(os.path.join(started, name), "w").write(str(os.getpid()))
    go = os.path.join(os.path.dirname(started), "go")
    while not os.path.exists(go):
        time.sleep(0.02)
    while True:
        with open(os.path.join(where, "injected-%s.txt" % name), "w") as fh:
            fh.write("written after the task ended\\n")
        time.sleep(0.02)
""")

# The agent: leaves escapees behind in every way it can, waits until each has started,
# makes an ordinary edit and exits 0.
LEAVER = textwrap.dedent("""
    import os, subprocess, sys, time
    loop, started, shapes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    here = os.getcwd()
    py = sys.executable
    def argv(name):
        return [py, "-c", loop, here, started, name]
    for name in shapes:
        if name == "setsid":
            subprocess.Popen(argv(name), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif name == "double-fork":
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(py, argv(name))
                os._exit(0)
        elif name == "nohup":
            subprocess.run(["sh", "-c", 'nohup "$@" >/dev/null 2>&1 &', "sh", *argv(name)])
        elif name == "cleared-env":
            # No trace of the run left: empty environment, own session, cwd elsewhere.
            subprocess.Popen(["env", "-i", *argv(name)], cwd="/", start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while len(os.listdir(started)) < len(shapes) and time.monotonic() < deadline:
        time.sleep(0.02)
    open("src/util.py", "a").write("# agent edit\\n")
""")

# The next task, in the same pooled sandbox: tells any escapee to write now, and gives a
# live one a moment to do so (that it is dead is checked on the process table).
NEXT = textwrap.dedent("""
    import os, sys, time
    open(sys.argv[1], "w").close()
    end = time.monotonic() + 1
    while time.monotonic() < end and not any(n.startswith("injected") for n in os.listdir()):
        time.sleep(0.02)
""")

UNCONFINED_SHAPES = ("setsid", "double-fork", "nohup")


def alive(started: Path) -> list[str]:
    """Escapees still running (found by their argv, which names the started folder)."""
    alive = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        argv = proc.info["cmdline"] or []
        if str(started) in argv and proc.info["status"] != psutil.STATUS_ZOMBIE:
            alive.append(argv[-1])
    return alive


def kill_escapees(started: Path) -> None:
    """Whatever a failed test left running."""
    for proc in psutil.process_iter(["cmdline"]):
        if str(started) in (proc.info["cmdline"] or []):
            proc.kill()


@pytest.mark.parametrize("confine", CONFINE_MODES)
def test_processes_an_agent_leaves_end_with_its_task(
    repo: Path, tmp_path: Path, confine: str
) -> None:
    # Without bubblewrap a process that clears its environment and leaves the sandbox is
    # beyond reach (docs/security.md); with it, the PID namespace ends it too.
    shapes = (*UNCONFINED_SHAPES, "cleared-env") if confine == "required" else UNCONFINED_SHAPES
    settings_file(repo, confine, "sandbox_pool_size = 1\n")
    started = tmp_path / "started"
    started.mkdir()
    before = user_state(repo)
    plan = (shell("leaver", LEAVER, claims=["src/util.py"],
                  args=[LOOP, str(started), ",".join(shapes)])
            + shell("next", NEXT, claims=["docs/**"], deps=["leaver"],
                    args=[str(tmp_path / "go")]))
    try:
        done = run_plan(repo, tmp_path, plan)
        assert sorted(p.name for p in started.iterdir()) == sorted(shapes)
        assert {k: v["status"] for k, v in finals(done).items()} == {
            "leaver": "completed", "next": "completed"}, done.stdout
        assert done.code == 0, done.stderr
        # Ended when the task ended: none is left to write into the pooled sandbox.
        assert alive(started) == []
    finally:
        kill_escapees(started)
    after = user_state(repo)
    assert not [rel for rel in after if "injected" in rel]
    assert after == {**before, "src/util.py": before["src/util.py"] + b"# agent edit\n"}
    ordinary_task_works(repo, tmp_path)


def test_a_released_sandbox_is_verified_clean_before_it_goes_back_to_the_pool(
    repo: Path, tmp_path: Path
) -> None:
    # Writes land after the diff saw the tree (as a process still running then would):
    # release undoes what the diff saw, finds the rest, and cleans the whole tree. (Idle
    # sandboxes are read-only to every confined agent: the pool folder is.)
    import anyio

    from yui_lsp.workspace import SandboxPool

    async def scenario() -> None:
        pool = SandboxPool(repo, tmp_path / "cache", include=[], pool_size=1)
        first = await pool.acquire("one")
        (first.path / "src" / "util.py").write_text("changed by the task\n")
        assert first.diff().paths == ["src/util.py"]
        (first.path / "late.txt").write_text("written after the diff\n")
        (first.path / "build").mkdir()
        (first.path / "build" / "late.o").write_text("ignored, also late\n")
        (first.path / "src" / "app.py").write_text("tampered after the diff\n")
        await pool.release(first)
        second = await pool.acquire("two")
        try:
            assert second.path == first.path
            assert not (second.path / "late.txt").exists()
            assert not (second.path / "build").exists()
            assert (second.path / "src" / "app.py").read_bytes() == (
                repo / "src" / "app.py").read_bytes()
            assert second.diff().changes == []
        finally:
            await pool.close()

    anyio.run(scenario)
