"""From the editor's `yui.develop` / `yui.multiLang` / `yui.refactor` options to tasks.

The same mapping as the CLI's ``develop`` / ``multi-lang`` / ``refactor``: one task per
named component with its agent, claims from ``[tool.yui.components.NAME]`` or the defaults
below, integration tests after everything else; a refactor is split into chunks of matching
files, about two per worker, each chunk one task claiming exactly its files.
"""

from __future__ import annotations

import re
from pathlib import Path

from yui_lsp.config import ComponentConfig, Settings
from yui_lsp.errors import PlanError
from yui_lsp.protocol import RefactorSpec, Task, new_task_id
from yui_lsp.workspace import expand_claims, resolve_inside

DEFAULT_CLAIMS: dict[str, list[str]] = {
    "frontend": ["src/frontend/**", "frontend/**", "web/**"],
    "backend": ["src/backend/**", "backend/**", "server/**", "api/**"],
    "database": ["db/**", "migrations/**", "src/db/**"],
    "tests": ["tests/**"],
    "docs": ["docs/**", "README.md"],
    "python": ["**/*.py"],
    "typescript": ["**/*.ts", "**/*.tsx"],
    "rust": ["**/*.rs"],
    "go": ["**/*.go"],
    "java": ["**/*.java"],
    "integration-tests": ["tests/integration/**"],
}
#: Components that start only after every other component of the run completed.
RUN_LAST = frozenset({"integration-tests"})


def _component(settings: Settings, name: str) -> ComponentConfig:
    for key in (name, name.replace("-", "_")):
        if key in settings.components:
            return settings.components[key]
    return ComponentConfig(paths=DEFAULT_CLAIMS.get(name, [f"{name}/**"]))


def component_tasks(assignments: dict[str, str], settings: Settings, prompt: str) -> list[Task]:
    """One task per component (name -> agent), dependencies between them resolved."""
    chosen = {name.replace("_", "-"): agent for name, agent in assignments.items() if agent}
    if not chosen:
        raise PlanError("name at least one component and its agent (e.g. frontend: kiro)")
    ids = {name: new_task_id(name) for name in chosen}
    tasks = []
    for name, agent in chosen.items():
        config = _component(settings, name)
        depends = [ids[d] for d in config.depends_on if d in ids]
        if name in RUN_LAST:
            depends += [ids[other] for other in chosen if other not in RUN_LAST]
        text = "\n\n".join(p for p in (prompt.strip(), config.prompt or "",
                                        f"Work only on the {name} part of the project.") if p)
        tasks.append(Task(
            id=ids[name], title=name, prompt=text, agent=agent,
            claims=config.paths or DEFAULT_CLAIMS.get(name, []),
            depends_on=sorted(set(depends)), command=config.command,
        ))
    return tasks


def _matches(root: Path, rel: str, spec: RefactorSpec, compiled: re.Pattern[str] | None) -> bool:
    try:
        text = resolve_inside(root, rel).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(compiled.search(text)) if compiled else spec.pattern in text


def refactor_tasks(root: Path, spec: RefactorSpec, max_workers: int) -> list[Task]:
    """The refactor split into chunks of matching files (blocking: reads the files)."""
    compiled = None
    if spec.regex:
        try:
            compiled = re.compile(spec.pattern, re.MULTILINE)
        except re.error as exc:
            raise PlanError(f"invalid regex pattern {spec.pattern!r}: {exc}") from None
    files = [rel for rel in expand_claims(root, spec.files) if _matches(root, rel, spec, compiled)]
    if not files:
        raise PlanError(f"no file matching {', '.join(spec.files)} contains {spec.pattern!r}")
    chunks = max(1, min(len(files), max_workers * 2))
    size = -(-len(files) // chunks)
    tasks = []
    for start in range(0, len(files), size):
        part = files[start:start + size]
        tasks.append(Task(
            title=f"refactor {part[0]}" + (f" (+{len(part) - 1})" if len(part) > 1 else ""),
            agent="refactor", claims=part,
            refactor=spec.model_copy(update={"files": part}),
        ).with_id())
    return tasks
