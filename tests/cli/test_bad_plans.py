"""A bad plan is refused with one clear line on stderr and exit 2, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Yui, shell_task, write_plan

GOOD = shell_task("a", "print(1)", ["out/a.txt"])

BAD_PLANS = {
    "cycle": (
        shell_task("a", "print(1)", ["x/**"], ["c"])
        + shell_task("b", "print(1)", ["y/**"], ["a"])
        + shell_task("c", "print(1)", ["z/**"], ["b"]),
        ["dependency cycle", "a -> c -> b -> a"],
    ),
    "unknown agent": (
        '[[task]]\nid = "t"\nagent = "nosuchagent"\nprompt = "do it"\n',
        ["unknown agent 'nosuchagent'"],
    ),
    "missing field": (
        '[[task]]\nid = "t"\nagent = "shell"\nclaims = ["a/**"]\n',
        ["'t'", "command"],
    ),
    "misspelt field": (
        '[[task]]\nid = "t"\nagent = "shell"\ncommand = ["true"]\ndepend_on = ["x"]\n',
        ["task 't' (#1)", "depend_on", "unknown field"],
    ),
    "bad glob": (
        '[[task]]\nid = "t"\nagent = "shell"\ncommand = ["true"]\nclaims = ["src/[ab.py"]\n',
        ["'t'", "src/[ab.py"],
    ),
    "escaping claim": (
        '[[task]]\nid = "t"\nagent = "shell"\ncommand = ["true"]\nclaims = ["../etc/**"]\n',
        ["claims", "escapes the workspace"],
    ),
    "invalid TOML": ('[[task]\nid = "t"\n', ["invalid TOML"]),
    "unknown dependency": (GOOD + shell_task("b", "print(1)", ["y/**"], ["zzz"]), ["'zzz'"]),
    "duplicate id": (GOOD + GOOD, ["'a'", "used twice"]),
    "no tasks": ("max_workers = 2\n", ["no tasks"]),
}


@pytest.mark.parametrize("kind", sorted(BAD_PLANS))
def test_bad_plan_is_one_line_and_exit_2(kind: str, repo: Path, yui: Yui) -> None:
    text, needles = BAD_PLANS[kind]
    write_plan(repo, text)
    done = yui("run", "plan.toml")
    assert done.code == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("yui: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert done.stdout == ""
    assert not (repo / ".yui" / "audit.jsonl").exists() or "task_update" not in (
        repo / ".yui" / "audit.jsonl"
    ).read_text()


def test_missing_plan_file(repo: Path, yui: Yui) -> None:
    done = yui("run", "nope.toml")
    assert done.code == 2
    assert done.stderr.strip().splitlines() == [
        f"yui: error: plan file {Path('nope.toml')} does not exist"
    ]


def test_missing_executable_is_a_clear_error(repo: Path, yui: Yui) -> None:
    write_plan(repo, '[[task]]\nid = "t"\nagent = "shell"\ncommand = ["no-such-tool-xyz"]\n')
    done = yui("run", "plan.toml")
    assert done.code in (1, 2)
    assert "Traceback" not in done.stderr + done.stdout
    assert "no-such-tool-xyz" in done.stderr + done.stdout


def test_unknown_command_line_flag_exits_2(repo: Path, yui: Yui) -> None:
    done = yui("run", "plan.toml", "--no-such-flag")
    assert done.code == 2
    assert "Traceback" not in done.stderr


def test_help_and_lsp_delegation(repo: Path, yui: Yui) -> None:
    top = yui("--help")
    assert top.code == 0
    for command in ("run", "develop", "refactor", "multi-lang", "status", "cancel", "locks",
                    "logs", "undo", "recover", "lsp", "demo"):
        assert command in top.stdout
    lsp = yui("lsp", "--help")
    assert lsp.code == 0, lsp.stderr
    assert "--tcp" in lsp.stdout
