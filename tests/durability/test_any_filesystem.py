"""yui on a workspace whose file system holds no sockets, and on a very deep workspace path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from mount import mounted

from tests.server.conftest import make_repo
from tests.server.editor import python_command, start_editor
from yui_lsp.coordinator.rundir import MAX_SOCKET_PATH, runtime_dir, socket_path

YUI = [sys.executable, "-m", "yui_lsp.cli.main"]
PLAN = b"""[[task]]
id = "append"
agent = "shell"
command = ["sh", "-c", "printf 'w = 4\\\\n' >> src/a.py"]
claims = ["src/a.py"]
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUI_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("XDG_RUNTIME_DIR", None)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def _yui(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*YUI, *args], cwd=root, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def _only_plain_files(state: Path) -> None:
    for path in state.rglob("*"):
        mode = path.lstat().st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), f"{path} is not a plain file"


@pytest.fixture
def backing(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "backing")
    (repo / "pyproject.toml").write_text("[tool.yui]\nmax_cpu_percent = 100\n")
    (repo / "plan.toml").write_bytes(PLAN)
    return repo


def test_cli_runs_on_a_file_system_without_sockets_and_its_result_survives_a_power_cut(
    backing: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    image = tmp_path / "image"
    with mounted(backing, tmp_path / "mnt", image) as mount:
        root = mount.mountpoint
        run = _yui(root, env, "run", "--json", "plan.toml")
        assert run.returncode == 0, run.stderr
        assert (root / "src" / "a.py").read_text() == "x = 1\ny = 2\nz = 3\nw = 4\n"
        status = _yui(root, env, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert _yui(root, env, "locks").returncode == 0
        doctor = _yui(root, env, "doctor", "--json")
        assert doctor.returncode == 0, doctor.stderr
        report = json.loads(doctor.stdout)
        assert report["file_system"].startswith("fuse")
        assert report["syncfs"] is False
        assert "fsync of every written file" in report["flush"]
        assert report["control_socket"].startswith(str(runtime_dir()))
        _only_plain_files(root / ".yui")
    # The power goes right after the run exited 0: its result is on the disk.
    assert (image / "src" / "a.py").read_text() == "x = 1\ny = 2\nz = 3\nw = 4\n"
    assert not list(image.rglob("*.yui-*.tmp"))
    assert subprocess.run(["git", "fsck", "--strict"], cwd=image,
                          capture_output=True).returncode == 0


async def test_language_server_runs_tasks_on_a_file_system_without_sockets(
    backing: Path, tmp_path: Path
) -> None:
    with mounted(backing, tmp_path / "mnt", tmp_path / "image") as mount:
        root = mount.mountpoint
        editor = await start_editor(root, tmp_path / "cache")
        try:
            answer = await editor.run("yui.submitTask", {
                "title": "append", "agent": "shell", "claims": ["src/b.py"],
                "command": python_command(
                    "open('src/b.py', 'a').write('c = 2\\n')"),
            })
            done = await editor.finished(answer["taskId"])
            assert done["status"] == "completed", done
            doctor = await editor.run("yui.doctor")
            assert doctor["reports"][0]["file_system"].startswith("fuse")
            _only_plain_files(root / ".yui")
        finally:
            await editor.client.shutdown_session()
            await editor.client.stop()  # type: ignore[no-untyped-call]


def test_a_workspace_too_deep_for_a_socket_path_still_runs(tmp_path: Path) -> None:
    deep = tmp_path
    while len(os.fsencode(deep)) < MAX_SOCKET_PATH + 40:
        deep = deep / "a-rather-long-folder-name"
    repo = make_repo(deep / "repo")
    (repo / "pyproject.toml").write_text("[tool.yui]\nmax_cpu_percent = 100\n")
    (repo / "plan.toml").write_bytes(PLAN)
    assert len(os.fsencode(socket_path(repo, "cli-1234-abcdef"))) <= MAX_SOCKET_PATH
    env = _env(tmp_path)
    run = _yui(repo, env, "run", "plan.toml")
    assert run.returncode == 0, run.stderr
    assert (repo / "src" / "a.py").read_text().endswith("w = 4\n")
    _only_plain_files(repo / ".yui")


def test_the_runtime_folder_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from yui_lsp.coordinator.rundir import RuntimeDirError

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "yui").mkdir(mode=0o777)
    os.chmod(tmp_path / "yui", 0o777)
    assert runtime_dir() == tmp_path / "yui"
    assert stat.S_IMODE((tmp_path / "yui").stat().st_mode) == 0o700  # tightened
    (tmp_path / "yui").rmdir()
    (tmp_path / "yui").symlink_to(tmp_path)
    with pytest.raises(RuntimeDirError, match="not a folder owned by you"):
        runtime_dir()


def test_a_coordinator_from_another_host_is_refused_on_a_network_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where file locks are not shared between machines, two hosts must not share leases."""
    from yui_lsp.coordinator import domain
    from yui_lsp.errors import YuiError
    from yui_lsp.workspace.filesystem import FileSystemInfo
    from yui_lsp.workspace.statedir import state_dir

    repo = make_repo(tmp_path / "repo")
    state_dir(repo)
    other = domain.CoordinatorEntry(coordinator_id="cli-elsewhere-1", pid=1, host="elsewhere",
                                    socket="/nonexistent.sock", started_at="2026-01-01T00:00:00")
    domain.write_atomic(repo / ".yui" / "coordinators" / "cli-elsewhere-1.json",
                        other.model_dump_json().encode())
    here = domain.DomainMembership(repo, "cli-here-1", "cli")
    here.register()  # a local disk: locks are shared, nothing to refuse
    here.unregister()

    nfs = FileSystemInfo(path=str(repo), mount_point="/", type="nfs4", syncfs=False,
                         locks_across_hosts=False)
    monkeypatch.setattr(domain, "describe", lambda root: nfs)
    with pytest.raises(YuiError, match=r"'elsewhere'.*nfs4.*one host at a time"):
        domain.DomainMembership(repo, "cli-here-2", "cli").register()
    assert not (repo / ".yui" / "coordinators" / "cli-here-2.json").exists()
