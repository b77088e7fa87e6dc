"""Reading plan files and checking a plan before anything runs.

Every problem becomes one PlanError line naming the file and what to fix; the coordinator
checks again at submission (agents, commands, executables), so this is about giving the
clearest message as early as possible.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from yui_lsp.coordinator import topological_order
from yui_lsp.coordinator.validation import check_plan
from yui_lsp.errors import PlanError
from yui_lsp.protocol import Plan, Task
from yui_lsp.workspace import ClaimSet


def load_plan(path: Path) -> Plan:
    """The plan in the TOML file at ``path``, validated (ids, dependencies, cycles, globs)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"plan file {path} does not exist") from None
    except IsADirectoryError:
        raise PlanError(f"{path} is a folder; give the plan's .toml file") from None
    except OSError as exc:
        raise PlanError(f"cannot read plan file {path}: {exc.strerror}") from None
    try:
        # utf-8-sig: editors on Windows start files with a byte order mark.
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path.name}: invalid TOML: {exc}") from None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"{path.name}: {describe_validation(exc, data)}") from None
    if not plan.tasks:
        raise PlanError(f"{path.name}: no tasks (add [[task]] tables with id, agent, prompt)")
    # Ids now, so the dry run, the live view and `depends_on` all name the same tasks.
    plan = plan.model_copy(update={"tasks": [t.with_id() for t in plan.tasks]})
    check_tasks(plan.tasks, where=path.name)
    return plan


def describe_validation(exc: ValidationError, data: object) -> str:
    """The first validation error in plan words: ``task 'api' (#2): claims: ...``."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] in ("task", "tasks") and isinstance(loc[1], int):
        index = loc[1]
        task_id = _task_id_at(data, index)
        where = f"task {task_id!r} (#{index + 1})" if task_id else f"task #{index + 1}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc)
    message = str(err["msg"])
    if err["type"] == "missing":
        message = "required field is missing"
    elif err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling against the plan format)"
    parts = [p for p in (where, field) if p]
    return f"{': '.join(parts)}: {message}" if parts else message


def _task_id_at(data: object, index: int) -> str:
    if isinstance(data, dict):
        tasks = data.get("task")
        if isinstance(tasks, list) and index < len(tasks) and isinstance(tasks[index], dict):
            value = tasks[index].get("id", "")
            return value if isinstance(value, str) else ""
    return ""


def check_tasks(tasks: list[Task], where: str = "plan") -> None:
    """Refuse duplicate ids, unknown dependencies, cycles and malformed globs."""
    check_plan(tasks, where=where)


def waves(tasks: list[Task]) -> list[list[str]]:
    """The order a plan runs in: each wave only needs earlier waves."""
    return topological_order({t.id: list(t.depends_on) for t in tasks})


def claim_waits(wave: list[Task]) -> dict[str, list[str]]:
    """For each task of one wave, the earlier ones it runs after because their claims overlap
    (the scheduler never runs two tasks with overlapping exclusive claims at once)."""
    sets = {t.id: ClaimSet(t.claims) for t in wave}
    waits: dict[str, list[str]] = {}
    for index, task in enumerate(wave):
        waits[task.id] = [
            other.id for other in wave[:index]
            if sets[task.id] and sets[other.id] and sets[task.id].overlaps(sets[other.id])
            and "exclusive" in (task.lock_type.value, other.lock_type.value)
        ]
    return waits


def plan_to_toml(plan: Plan) -> str:
    """``plan`` as a plan file ``load_plan`` reads back to the same plan (one writer for
    every plan yui saves: :func:`yui_lsp.specs.tomlplan.plan_toml`)."""
    from yui_lsp.specs.tomlplan import plan_toml

    return plan_toml(plan)
