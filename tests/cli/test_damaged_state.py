"""Damaged or hand-edited state under `.yui/` and odd arguments: a clear error that says what
to do, nothing of the user's lost, never an internal error."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Yui, cli_env, shell_task, yui_argv
from tests.support import wait_for, why_no_private_tmpfs
from yui_lsp.workspace.statefault import state_fault

_REFACTOR_B = ("refactor", "--pattern", "old_name", "--replacement", "x", "--files", "src/b.py")


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

    for args in (("recover",), _REFACTOR_B):
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


def test_the_language_server_refuses_a_bad_port_log_file_or_taken_port_plainly(
        tmp_path: Path, yui: Yui) -> None:
    for port in ("99999", "-1"):
        bad = yui("lsp", "--tcp", port, cwd=tmp_path)
        assert bad.code == 2 and f"'{port}' is not a port (0-65535)" in bad.stderr, bad.stderr
    no_log = yui("lsp", "--log-file", str(tmp_path / "missing" / "yui.log"), cwd=tmp_path)
    _said_plainly(no_log.stderr)
    assert no_log.code == 2 and "cannot write the log to" in no_log.stderr, no_log.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = yui("lsp", "--tcp", port, "--token-file", str(tmp_path / "token"), cwd=tmp_path)
    _said_plainly(busy.stderr)
    assert busy.code == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr, busy.stderr


def test_status_since_longer_ago_than_dates_go_lists_everything_and_says_since_what(
        repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "src/a.py")
    assert done.code == 0, done.stderr
    for far in ("999999d", "99999999999999999999h", "0001-01-01"):
        listed = yui("status", "--since", far)
        _said_plainly(listed.stdout + listed.stderr)
        assert listed.code == 0 and "refactor-1" in listed.stdout, listed.stdout
        assert "last 24h" not in listed.stdout
    two_days = yui("status", "--since", "48h").stdout
    assert "recent tasks (since " in two_days and "last 24h" not in two_days, two_days


@pytest.mark.skipif(why_no_private_tmpfs() is not None, reason=str(why_no_private_tmpfs()))
def test_a_full_disk_under_yui_state_is_said_plainly_and_touches_no_file(
        repo: Path, tmp_path: Path) -> None:
    # .yui/ on a tiny tmpfs of its own (in a private mount namespace), filled up.
    commands = [yui_argv("refactor", "--pattern", "old_name", "--replacement", "new_name",
                         "--files", "src/a.py"), yui_argv("status"), yui_argv("logs", "x")]
    script = "\n".join([
        "set -e", "mount --make-rprivate /", "mkdir -p .yui",
        "mount -t tmpfs -o size=64k,mode=0700 tmpfs .yui",
        "dd if=/dev/zero of=.yui/filler bs=1k count=64 2>/dev/null || true", "set +e",
        *(f"{shlex.join(c)}; echo \"--- exit $?\"" for c in commands),
    ])
    done = subprocess.run(["unshare", "--mount", "bash", "-c", script], cwd=repo,
                          env=cli_env(tmp_path), capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    _said_plainly(out)
    assert "--- exit 2" in out and ("No space left on device" in out
                                    or "database or disk is full" in out
                                    or "disk I/O error" in out), out
    assert (repo / "src" / "a.py").read_text() == "from old_name import thing  # a\n"


def test_the_cli_log_follows_no_symlink_and_says_what_is_in_its_place(
        repo: Path, tmp_path: Path, yui: Yui) -> None:
    logs = repo / ".yui" / "logs"
    logs.mkdir(parents=True, mode=0o700)
    outside = tmp_path / "outside.txt"
    (logs / "yui.log").symlink_to(outside)  # as a repository could carry it
    refused = yui(*_REFACTOR_B)
    _said_plainly(refused.stdout + refused.stderr)
    assert refused.code == 2 and "yui.log is a symlink" in refused.stderr, refused.stderr
    assert not outside.exists(), "nothing was written through the link"
    assert (repo / "src" / "b.py").read_text() == "from old_name import thing  # b\n"

    (logs / "yui.log").unlink()
    (logs / "yui.log").mkdir()
    misplaced = yui(*_REFACTOR_B)
    _said_plainly(misplaced.stdout + misplaced.stderr)
    assert misplaced.code == 2
    assert "cannot write yui's state file .yui/logs/yui.log: Is a directory" \
        in misplaced.stderr and "move aside what is in its place" in misplaced.stderr


def test_a_state_entry_of_the_wrong_kind_is_named_and_kept(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "src/a.py")
    assert done.code == 0, done.stderr
    state = repo / ".yui"
    shutil.rmtree(state / "tasks")
    (state / "tasks").write_text("a file where yui keeps a folder\n")
    (state / "tasks").chmod(0o600)
    shutil.rmtree(state / "backups" / "refactor-1")
    (state / "backups" / "refactor-1").write_text("not a backup\n")
    (state / "backups" / "refactor-1").chmod(0o600)

    run = yui(*_REFACTOR_B)
    _said_plainly(run.stdout + run.stderr)
    assert run.code == 2
    assert "cannot use yui's state file .yui/tasks: Not a directory (move aside what is in " \
        "its place" in run.stderr, run.stderr
    undone = yui("undo", "refactor-1")
    _said_plainly(undone.stdout + undone.stderr)
    assert undone.code == 2 and ".yui/backups/refactor-1: Not a directory" in undone.stderr
    assert (state / "tasks").read_text() == "a file where yui keeps a folder\n"
    assert (repo / "src" / "a.py").read_text() == "from new_name import thing  # a\n"


def test_only_fixable_system_errors_under_yui_state_are_called_the_users() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/w/.yui/audit.jsonl")
    assert str(state_fault(full)) == (
        "cannot use yui's state file .yui/audit.jsonl: No space left on device (free disk "
        "space, or make the folder writable, and run again)")
    assert state_fault(OSError(errno.ENOSPC, "No space", "/w/src/a.py")) is None
    assert state_fault(OSError(errno.EBADF, "Bad file descriptor", "/w/.yui/x")) is None
    assert state_fault(ValueError("not an OSError")) is None


def test_a_run_after_a_cut_audit_line_starts_on_a_line_of_its_own(repo: Path, yui: Yui) -> None:
    first = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
                "--files", "src/a.py")
    assert first.code == 0, first.stderr
    audit = repo / ".yui" / "audit.jsonl"
    with audit.open("a") as fh:
        fh.write('{"timestamp":"2026-11-29T16:3')  # a power cut in the middle of a line
    second = yui(*_REFACTOR_B)
    assert second.code == 0, second.stderr
    lines = audit.read_text().splitlines()
    assert '{"timestamp":"2026-11-29T16:3' in lines, "the cut line is kept as it was"
    parsed = [json.loads(line) for line in lines if line != '{"timestamp":"2026-11-29T16:3']
    assert {m["task_id"] for m in parsed if m.get("type") == "task_update"} == {
        "refactor-1", "refactor-1-r2"}
    assert any(m.get("status") == "pending" and m["task_id"] == "refactor-1-r2"
               for m in parsed), "the second run's first message is whole"


def test_a_dead_coordinators_entry_removes_only_yui_files_and_a_socket(
        repo: Path, tmp_path: Path, yui: Yui) -> None:
    # Entries as a cloned repository, or a hand copy, could carry them: owner-only, dead pid.
    folder = repo / ".yui" / "coordinators"
    folder.mkdir(parents=True, mode=0o700)
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}\n")
    dead = {"pid": 2**22 + 1, "host": socket.gethostname(), "started_at": "2026-01-01",
            "kind": "cli"}
    bus = socket.socket(socket.AF_UNIX)  # another program's socket, as a session bus is
    bus.bind(str(tmp_path / "bus"))
    entries = {
        "cli-dead-1": {**dead, "coordinator_id": "cli-dead-1", "socket": str(precious)},
        "cli-dead-2": {**dead, "coordinator_id": str(tmp_path / "elsewhere"),
                       "socket": str(tmp_path / "none.sock")},
        "cli-dead-3": {**dead, "coordinator_id": "cli-dead-3", "socket": str(tmp_path / "bus")},
    }
    for name, entry in entries.items():
        (folder / f"{name}.json").write_text(json.dumps(entry))
        (folder / f"{name}.json").chmod(0o600)

    answer = yui("cancel", "nothing")
    _said_plainly(answer.stdout + answer.stderr)
    assert answer.code == 2 and "no task with id 'nothing'" in answer.stderr
    assert precious.read_text() == "keep me\n", "a file named as the socket is not removed"
    assert elsewhere.exists(), "an id with a path in it names nothing to remove"
    assert (tmp_path / "bus").exists(), "a socket yui did not make for the entry stays"
    bus.close()
    assert not (folder / "cli-dead-1.json").exists(), "the dead entry itself is cleaned up"
    assert not (folder / "cli-dead-3.json").exists()


def _lists_running(repo: Path, task_id: str) -> bool:
    return any(f'"id":"{task_id}"' in p.read_text() and '"status":"running"' in p.read_text()
               for p in (repo / ".yui" / "tasks").glob("*.json"))


@contextlib.contextmanager
def _running_slow(repo: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`yui run` of a task that sleeps, running until the block ends."""
    (repo / "slow.toml").write_text(shell_task(
        "slow", "import time; time.sleep(60)", ["out/**"]))
    run = subprocess.Popen(yui_argv("run", "slow.toml"), cwd=repo, env=cli_env(tmp_path),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _lists_running(repo, "slow"))
        yield run
    finally:
        os.kill(run.pid, signal.SIGCONT)
        run.terminate()
        run.wait(timeout=30)


def test_cancel_of_a_task_whose_coordinator_is_stopped_says_so(
        repo: Path, tmp_path: Path, yui: Yui) -> None:
    with _running_slow(repo, tmp_path) as run:
        os.kill(run.pid, signal.SIGSTOP)  # as Ctrl-Z in the terminal running it
        stopped = yui("cancel", "slow")
    assert stopped.code == 2, stopped.stdout + stopped.stderr
    assert f"belongs to the yui cli process pid {run.pid}, which did not answer" \
        in stopped.stderr and "kill -CONT" in stopped.stderr, stopped.stderr
    assert "no task with id" not in stopped.stderr


def test_cancel_of_a_task_whose_coordinator_lost_its_socket_says_so(
        repo: Path, tmp_path: Path, yui: Yui) -> None:
    with _running_slow(repo, tmp_path) as run:
        (entry,) = (repo / ".yui" / "coordinators").glob("*.json")
        Path(json.loads(entry.read_text())["socket"]).unlink()  # as a /tmp cleaner does
        lost = yui("cancel", "slow")
    assert lost.code == 2, lost.stdout + lost.stderr
    assert f"belongs to the yui cli process pid {run.pid}, which cannot be reached at " \
        "its control socket" in lost.stderr, lost.stderr


def test_a_regex_refactor_whose_replacement_names_no_group_is_refused_before_it_runs(
        repo: Path, yui: Yui) -> None:
    (repo / "plan.toml").write_text(
        '[[task]]\nid = "r"\nagent = "refactor"\n[task.refactor]\npattern = "(old)_name"\n'
        'replacement = "\\\\2"\nregex = true\nfiles = ["src/a.py"]\n')
    cases = {
        ("refactor", "--pattern", "(?P<x>old)", "--replacement", "\\g<y>", "--files",
         "src/a.py", "--regex"): "unknown group name 'y'",
        ("refactor", "--pattern", "a{99999999999}", "--replacement", "b", "--files",
         "src/a.py", "--regex"): "the repetition number is too large",
        ("run", "plan.toml"): "plan.toml: task 'r': refactor: invalid regex pattern or "
                              "replacement: invalid group reference 2",
    }
    for args, said in cases.items():
        refused = yui(*args)
        _said_plainly(refused.stdout + refused.stderr)
        assert refused.code == 2 and said in refused.stderr, refused.stdout + refused.stderr
    assert (repo / "src" / "a.py").read_text() == "from old_name import thing  # a\n"



def test_locks_says_a_lease_file_it_cannot_read_instead_of_no_leases_alone(
        repo: Path, yui: Yui) -> None:
    locks = repo / ".yui" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    cut = '[{"file_path": "src/a.py", "locked_by": "t", "lock_'  # cut short by hand or disk
    (locks / "t.json").write_text(cut)
    (locks / "t.json").chmod(0o600)
    listed = yui("locks")
    _said_plainly(listed.stdout + listed.stderr)
    assert listed.code == 0 and "no leases held" in listed.stdout
    assert ".yui/locks/t.json cannot be read as leases; yui takes it as holding no file" \
        in listed.stderr.replace("\n", " "), listed.stderr
    assert (locks / "t.json").read_text() == cut
