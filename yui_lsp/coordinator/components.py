"""Turning `yui develop`, `yui multi-lang` and `yui refactor` options into tasks.

Pure functions of their inputs (settings, options, the list of files): no coordinator, no
terminal, so any front end can build the same tasks from the same options.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from yui_lsp.agents.builtin import regex_problem
from yui_lsp.agents.kinds import KINDS
from yui_lsp.errors import PlanError

if TYPE_CHECKING:  # `yui`'s parser reads the component names: the models come when used
    from yui_lsp.config import Settings
    from yui_lsp.protocol import RefactorSpec, Task

#: Agent names that run a component's configured ``command`` instead of following a prompt
#: (``yui`` without a command is Yui's model-backed worker): the built-in agents of the kinds
#: whose task may carry a command.
BUILTIN_AGENTS = frozenset(name for name, kind in KINDS.items() if "command" in kind.accepts)


class ComponentDefault(NamedTuple):  # not a dataclass: `yui --version` skips `inspect`
    """Where a component usually lives, and what must be done before it."""

    paths: tuple[str, ...]
    depends_on: tuple[str, ...] = ()


#: `yui develop` components, in the order their flags are listed.
DEVELOP_COMPONENTS: dict[str, ComponentDefault] = {
    "frontend": ComponentDefault(
        ("src/frontend/**", "frontend/**", "web/**", "client/**", "src/components/**")
    ),
    "backend": ComponentDefault(("src/backend/**", "backend/**", "server/**", "api/**", "app/**")),
    "database": ComponentDefault(("db/**", "migrations/**", "schema/**", "src/db/**")),
    "tests": ComponentDefault(("tests/**", "test/**"), ("frontend", "backend", "database")),
    "docs": ComponentDefault(
        ("docs/**", "README.md"), ("frontend", "backend", "database", "tests")
    ),
}

#: `yui multi-lang` components; integration tests run once every language is done.
MULTI_LANG_COMPONENTS: dict[str, ComponentDefault] = {
    "python": ComponentDefault(("**/*.py", "pyproject.toml")),
    "typescript": ComponentDefault(("**/*.ts", "**/*.tsx", "package.json", "tsconfig.json")),
    "rust": ComponentDefault(("**/*.rs", "Cargo.toml", "Cargo.lock")),
    "go": ComponentDefault(("**/*.go", "go.mod", "go.sum")),
    "java": ComponentDefault(("**/*.java", "pom.xml", "build.gradle")),
    "integration-tests": ComponentDefault(
        ("tests/integration/**", "integration-tests/**", "integration/**"),
        ("python", "typescript", "rust", "go", "java"),
    ),
}


def component_tasks(
    chosen: Mapping[str, str],
    defaults: Mapping[str, ComponentDefault],
    settings: Settings,
    work: str,
    *,
    unique_ids: bool = False,
) -> list[Task]:
    """One task per chosen component (name → agent), claims and order from config/defaults.

    ``[tool.yui.components.NAME]`` overrides a default's paths and dependencies and may add
    components of its own. A dependency on a component that was not chosen is dropped: the
    order only matters among the tasks that run.
    """
    from yui_lsp.config import ComponentConfig
    from yui_lsp.protocol import Task, new_task_id

    if not chosen:
        flags = " ".join(f"--{name} AGENT" for name in defaults)
        raise PlanError(f"name at least one component to work on: {flags}")
    # A long-lived coordinator (the editor's) runs `develop` many times: ids must not repeat.
    ids = {name: new_task_id(name) if unique_ids else name for name in chosen}
    tasks: list[Task] = []
    for name, agent in chosen.items():
        config = settings.components.get(name) or ComponentConfig()
        default = defaults.get(name, ComponentDefault(()))
        paths = list(config.paths) or list(default.paths)
        if not paths:
            raise PlanError(
                f"component {name!r} has no paths: set [tool.yui.components.{name}] paths = [...]"
            )
        after = config.depends_on or list(default.depends_on)
        if agent == "shell" and not config.command:
            raise PlanError(
                f"component {name!r} uses the shell worker, which runs a command: set "
                f'[tool.yui.components.{name}] command = ["argv", ...] or pick an LLM agent'
            )
        # Without a command, `yui` is Yui's model-backed worker: it needs work like any agent.
        runs_command = agent in BUILTIN_AGENTS and bool(config.command)
        if not runs_command and not work.strip() and not (config.prompt or "").strip():
            raise PlanError(
                f"say what to build: pass --prompt TEXT or --spec FILE (or set prompt under "
                f"[tool.yui.components.{name}])"
            )
        tasks.append(
            Task(
                id=ids[name],
                title=f"{name}: {_first_line(work)}" if work.strip() else name,
                prompt=_component_prompt(name, paths, work, config.prompt),
                agent=agent,
                claims=paths,
                depends_on=[ids[dep] for dep in after if dep in chosen and dep != name],
                command=list(config.command)
                if agent in BUILTIN_AGENTS and config.command
                else None,
            )
        )
    return tasks


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:60]


def _component_prompt(name: str, paths: list[str], work: str, extra: str | None) -> str:
    lines = [
        work.strip(),
        "",
        f"You own the {name} part of this project: only change files matching "
        + ", ".join(paths)
        + ". Other agents are working on the other parts at the same time.",
    ]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines).strip()


#: Files per `yui refactor` task, about. Landing is file-system metadata work (a temp file
#: created and renamed per file) plus a little Python per file: tasks of one process landing
#: at once queue for the interpreter and the same folders rather than overlap, so one task
#: lands 6,000 files faster than two tasks of 3,000 at once (1.45-1.63 s against
#: 1.72-1.80 s, benchmarks/bench_landing.py). Only a refactor big enough to be worth
#: watching in parts is split (a task's lease, bus messages and flushes are cheap;
#: concurrent applies share their flushes, see ``workspace.statedir.WriteBarrier``).
REFACTOR_FILES_PER_TASK = 5_000


def refactor_tasks(
    files: Sequence[str],
    spec: RefactorSpec,
    workers: int,
    *,
    agent: str = "yui",
    id_prefix: str = "refactor",
) -> list[Task]:
    """Split ``files`` into contiguous chunks, one task each: one chunk per
    :data:`REFACTOR_FILES_PER_TASK` files, at most two per worker (which keeps every worker
    busy when chunks take uneven time).

    Each task claims exactly its files, so chunks never wait on one another.
    """
    from yui_lsp.protocol import Task
    from yui_lsp.wording import plural

    if not files:
        return []
    count = min(max(1, workers) * 2, math.ceil(len(files) / REFACTOR_FILES_PER_TASK))
    size = math.ceil(len(files) / count)
    chunks = [list(files[i : i + size]) for i in range(0, len(files), size)]
    width = len(str(len(chunks)))
    return [
        Task(
            id=f"{id_prefix}-{index:0{width}d}",
            title=f"{spec.pattern} → {spec.replacement} ({plural(len(chunk), 'file')})",
            agent=agent,
            claims=chunk,
            refactor=spec.model_copy(update={"files": chunk}),
        )
        for index, chunk in enumerate(chunks, start=1)
    ]


# --------------------------------------------------------------------------- refactor files


def _matcher(spec: RefactorSpec) -> re.Pattern[str] | None:
    if not spec.regex:
        return None
    problem = regex_problem(spec)
    if problem is not None:
        raise PlanError(
            f"invalid regex pattern {spec.pattern!r} or replacement {spec.replacement!r}: "
            f"{problem} (turn regex off to match it literally)")
    return re.compile(spec.pattern, re.MULTILINE)


def files_to_refactor(root: Path, globs: list[str], spec: RefactorSpec) -> list[str]:
    """Workspace-relative text files matching ``globs`` that contain the pattern, sorted."""
    from yui_lsp.workspace.merge import as_text
    from yui_lsp.workspace.paths import expand_claims, validate_claims

    try:
        validate_claims(globs)
    except PlanError as exc:
        raise PlanError(f"files: {exc}") from None
    pattern = _matcher(spec)
    literal = spec.pattern.encode("utf-8")
    found: list[str] = []
    texts: list[tuple[str, str]] = []
    for rel in expand_claims(root, globs):
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if pattern is None and literal not in data:
            continue  # the cheap test first: most files do not contain the literal
        text = as_text(data)
        if text is None:
            continue  # not text: a text replacement never touches it
        if pattern is None:
            found.append(rel)
        else:
            texts.append((rel, text))
    if pattern is not None:
        # In a child process with a time budget: a runaway regex must not freeze yui.
        from yui_lsp.agents.bounded_regex import search_many

        matched = search_many(spec.pattern, texts)
        found = [rel for rel, _ in texts if rel in matched]
    return found
