"""`yui refactor`, `yui develop` and `yui multi-lang`: options become the right tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yui_lsp.coordinator import components
from yui_lsp.protocol import RefactorSpec

from .conftest import PYTHON, Yui, git


def _many_files(repo: Path, count: int) -> None:
    for i in range(count):
        folder = repo / "pkg" / f"m{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        body = f"import old_name\nvalue_{i} = old_name.thing({i})\n" if i % 3 else f"x = {i}\n"
        (folder / f"f{i}.py").write_text(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "many files")


def test_refactor_rewrites_exactly_the_matching_files(repo: Path, yui: Yui) -> None:
    _many_files(repo, 60)
    before = {p: p.read_text() for p in repo.rglob("*.py") if ".git" not in p.parts}
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "pkg/**/*.py", "--files", "src/a.py", "--max-workers", "3")
    assert done.code == 0, done.stdout + done.stderr
    for path, text in before.items():
        rel = path.relative_to(repo).as_posix()
        chosen = rel.startswith("pkg/") or rel == "src/a.py"
        expected = text.replace("old_name", "new_name") if chosen else text
        assert path.read_text() == expected, rel
    assert "old_name" in (repo / "README.md").read_text()  # not in --files


def test_refactor_splits_into_chunks_claiming_their_files(repo: Path, yui: Yui) -> None:
    _many_files(repo, 60)
    done = yui("refactor", "--pattern", "old_name", "--replacement", "new_name",
               "--files", "pkg/**", "--max-workers", "3", "--dry-run", "--json")
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    tasks = plan["tasks"]
    assert len(tasks) == 1  # 40 files: one task (components.REFACTOR_FILES_PER_TASK)
    claimed = [c for t in tasks for c in t["claims"]]
    assert len(claimed) == len(set(claimed)) == 40  # only files holding the pattern
    assert all(t["refactor"]["files"] == t["claims"] for t in tasks)
    assert plan["waves"] == [sorted(t["id"] for t in tasks)]


@pytest.mark.parametrize(("files", "workers", "tasks"), [
    (1, 4, 1), (40, 3, 1), (3_000, 4, 1), (5_000, 4, 1), (5_001, 4, 2), (10_000, 4, 2),
    (50_000, 4, 8), (50_000, 1, 2),
])
def test_refactor_task_count_follows_the_file_count(files: int, workers: int,
                                                    tasks: int) -> None:
    names = [f"src/m{i:05d}.py" for i in range(files)]
    spec = RefactorSpec(pattern="a", replacement="b")
    chunks = components.refactor_tasks(names, spec, workers)
    assert len(chunks) == tasks
    assert [c for t in chunks for c in t.claims] == names  # each file once, in order


def test_refactor_regex_with_groups(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--regex", "--pattern", r"# (\w)$", "--replacement", r"# file \1",
               "--files", "src/*.py")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src" / "b.py").read_text() == "from old_name import thing  # file b\n"


def test_refactor_bad_regex_is_one_line(repo: Path, yui: Yui) -> None:
    done = yui("refactor", "--regex", "--pattern", "(unclosed", "--replacement", "x",
               "--files", "src/*.py")
    assert done.code == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "regex" in done.stderr and "(unclosed" in done.stderr


def _components(repo: Path) -> None:
    writer = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.parent.mkdir(exist_ok=True); "
        "seen = sorted(x.parent.name for x in pathlib.Path('.').glob('*/built')); "
        "p.write_text(sys.argv[2] + ''.join(seen))"
    )
    (repo / "pyproject.toml").write_text(
        "[tool.yui.components.backend]\n"
        f"command = ['{PYTHON}', '-c', \"{writer}\", 'server/built', 'api']\n"
        "paths = ['server/**']\n"
        "[tool.yui.components.frontend]\n"
        f"command = ['{PYTHON}', '-c', \"{writer}\", 'web/built', 'ui']\n"
        "[tool.yui.components.tests]\n"
        f"command = ['{PYTHON}', '-c', \"{writer}\", 'tests/built', 'saw:']\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "components")


def test_develop_with_the_yui_worker_runs_components_in_order(repo: Path, yui: Yui) -> None:
    _components(repo)
    done = yui("develop", "--backend", "yui", "--frontend", "yui", "--tests", "yui",
               "--prompt", "build it")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "server" / "built").read_text().startswith("api")
    assert (repo / "web" / "built").read_text().startswith("ui")
    # tests depends on the others by default: it saw both results.
    assert (repo / "tests" / "built").read_text() == "saw:serverweb"


def test_develop_dry_run_shows_claims_and_order(repo: Path, yui: Yui) -> None:
    _components(repo)
    done = yui("develop", "--backend", "yui", "--tests", "yui", "--dry-run", "--json")
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["waves"] == [["backend"], ["tests"]]
    backend = next(t for t in plan["tasks"] if t["id"] == "backend")
    assert backend["claims"] == ["server/**"]


def test_develop_yui_worker_without_a_model_is_a_clear_error(repo: Path, yui: Yui) -> None:
    # No command: the yui agent is Yui's model worker, refused at submission without a model.
    done = yui("develop", "--database", "yui", "--prompt", "x")
    assert done.code == 2
    assert "no model configured" in done.stderr and "[tool.yui.yui]" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_develop_llm_agent_needs_a_prompt(repo: Path, yui: Yui) -> None:
    done = yui("develop", "--frontend", "kiro", "--dry-run")
    assert done.code == 2
    assert "--prompt" in done.stderr


def test_multi_lang_integration_tests_come_last(repo: Path, yui: Yui) -> None:
    spec = repo / "SPEC.md"
    spec.write_text("Port the parser.\nDetails follow.\n")
    done = yui("multi-lang", "--python", "kiro", "--rust", "claude",
               "--integration-tests", "kiro", "--spec", "SPEC.md", "--dry-run", "--json")
    assert done.code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["waves"] == [["python", "rust"], ["integration-tests"]]
    python = next(t for t in plan["tasks"] if t["id"] == "python")
    assert python["prompt"].startswith("Port the parser.")
    assert "**/*.py" in python["claims"]
