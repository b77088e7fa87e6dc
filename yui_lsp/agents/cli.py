"""What every adapter of an external CLI shares: finding the executable, paths it reports,
and turning an unexpected exit into a clear error."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.profiles import EXECUTABLES, default_command
from yui_lsp.agents.runner import ProcessOutcome
from yui_lsp.config import AgentProfile
from yui_lsp.errors import AgentFailedError, AgentUnavailableError


def command_of(profile: AgentProfile) -> list[str]:
    """The profile's command, or its kind's default; AgentUnavailableError if it has none."""
    command = profile.command or default_command(profile.kind)
    if not command:
        raise AgentUnavailableError(
            f"agent kind {profile.kind!r} needs a command (set `command = [...]` in its profile)"
        )
    return list(command)


def check_executable(profile: AgentProfile) -> None:
    """Raise AgentUnavailableError naming the override variable and install hint if missing."""
    exe = command_of(profile)[0]
    found = shutil.which(exe) if os.sep not in exe else (exe if os.access(exe, os.X_OK) else None)
    if found:
        return
    info = EXECUTABLES.get(profile.kind)
    name = Path(exe).name
    if info is None:
        raise AgentUnavailableError(
            f"{name} not found on PATH (fix `command` of this {profile.kind} agent profile)"
        )
    where = "on PATH" if os.sep not in exe else f"at {exe}"
    raise AgentUnavailableError(
        f"{name} not found {where} (set {info.env_var} or install {info.product}: "
        f"{info.install_hint})"
    )


def check_program(program: str, workdir: Path, what: str) -> None:
    """Raise AgentUnavailableError when ``program`` (a task's ``command[0]``) cannot start:
    not on PATH, or a path (relative to the workspace) that is missing or not executable."""
    if not program:
        raise AgentUnavailableError(f"{what}: the command is empty")
    if os.sep not in program and "/" not in program:
        if shutil.which(program) is None:
            raise AgentUnavailableError(
                f"{what}: {program} not found on PATH (install it, or give its full path)"
            )
        return
    path = Path(program) if os.path.isabs(program) else workdir / program
    if not path.is_file():
        raise AgentUnavailableError(f"{what}: {program} does not exist")
    if not os.access(path, os.X_OK):
        raise AgentUnavailableError(f"{what}: {program} is not executable (chmod +x it)")


class CliAdapter:
    """Base of the adapters that run an external CLI through the runner."""

    kind = "command"

    def check_available(self, profile: AgentProfile) -> None:
        check_executable(profile)


def workdir_relative(run: AgentRun, path: str) -> str | None:
    """``path`` (absolute, or relative to the workdir) as a workdir-relative POSIX path.

    Returns None when it points outside the workdir.
    """
    root = run.workdir.resolve()
    candidate = Path(path)
    full = candidate if candidate.is_absolute() else root / candidate
    resolved = Path(os.path.normpath(full))
    if resolved != root and root not in resolved.parents:
        # The sandbox may be reached through a symlink (e.g. /tmp on macOS): compare real paths.
        real = resolved.resolve()
        if real != root and root not in real.parents:
            return None
        resolved = real
    return resolved.relative_to(root).as_posix()


def sort_reported(run: AgentRun, paths: list[str]) -> tuple[list[str], list[str]]:
    """Split reported paths into (inside the sandbox, relative; outside, as reported)."""
    inside: list[str] = []
    outside: list[str] = []
    for path in paths:
        rel = workdir_relative(run, path)
        if rel is None:
            outside.append(path)
        elif rel not in inside:
            inside.append(rel)
    return inside, outside


def refuse_escapes(name: str, outside: list[str]) -> None:
    """AgentFailedError if the agent reported changing files outside its sandbox."""
    if outside:
        shown = ", ".join(outside[:5])
        raise AgentFailedError(
            f"{name} tried to change files outside its sandbox ({shown}); the task failed and "
            "nothing from it is integrated — check those files yourself"
        )


def exit_error(name: str, outcome: ProcessOutcome, hint: str = "") -> AgentFailedError:
    """A clear error for a non-zero exit, quoting the last lines the agent printed."""
    said = outcome.sink.last("stderr") or outcome.sink.last("stdout") or "no output"
    suffix = f"; {hint}" if hint else "; see `yui logs` for the full output"
    code = outcome.exit_code
    how = f"exit {code}"
    if code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    return AgentFailedError(f"{name} failed ({how}): {said}{suffix}")
