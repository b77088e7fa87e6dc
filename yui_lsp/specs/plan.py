"""A spec's unchecked tasks as a :class:`~yui_lsp.protocol.Plan`, ticks included."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from yui_lsp.protocol import LineEdit, Plan, Task
from yui_lsp.specs.depends import EVERYTHING, SpecError, infer_edges, restrict, work_keys
from yui_lsp.specs.model import Edge, Spec, SpecTask
from yui_lsp.specs.parse import ticked_line
from yui_lsp.specs.prompt import task_prompt


@dataclass
class SpecPlan:
    """What running a spec means: the plan, and how it maps back to the task list."""

    spec: Spec
    plan: Plan
    #: task id -> the spec task's key
    keys: dict[str, str] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    #: keys of tasks with work left out: (key, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def task_id(self, key: str) -> str:
        return next(tid for tid, k in self.keys.items() if k == key)


def task_id(spec: Spec, key: str) -> str:
    """The plan id of a spec task: ``<spec>-<key>``, made a valid task id."""
    raw = f"{spec.name}-{key}"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")
    return (cleaned or "spec")[:128]


def parse_only(value: str | list[str] | None) -> list[str]:
    """``--only 2.1,3`` as keys."""
    if value is None:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return [item.strip().rstrip(".") for item in items if item.strip()]


def select(spec: Spec, only: list[str], include_optional: bool) -> tuple[list[SpecTask],
                                                                         list[tuple[str, str]]]:
    """The tasks with work that will run, and those left out with the reason."""
    wanted: set[str] | None = None
    if only:
        wanted = set()
        for key in only:
            if spec.task(key) is None:
                raise SpecError(f"--only {key}: no task {key} in {spec.tasks_rel}")
            wanted.update(work_keys(spec, key))
    chosen: list[SpecTask] = []
    skipped: list[tuple[str, str]] = []
    for task in spec.tasks:
        if not task.has_work:
            continue
        if task.done:
            skipped.append((task.key, "done"))
        elif wanted is not None and task.key not in wanted:
            skipped.append((task.key, "not in --only"))
        elif _optional(spec, task) and not include_optional and not (only and task.key in only):
            skipped.append((task.key, "optional (--include-optional runs it)"))
        else:
            chosen.append(task)
    return chosen, skipped


def _optional(spec: Spec, task: SpecTask) -> bool:
    parent = spec.task(task.parent) if task.parent else None
    return task.optional or (parent is not None and parent.optional)


def tick_edits(spec: Spec, task: SpecTask) -> list[LineEdit]:
    """The task's own tick, then each ancestor's, which waits for its required sub-tasks."""
    path = spec.tasks_rel
    edits = [LineEdit(path=path, line=task.line, old=task.line_text, new=ticked_line(task))]
    parent = spec.task(task.parent) if task.parent else None
    while parent is not None and not parent.done:
        required = [c for c in (spec.task(k) for k in parent.children)
                    if c is not None and not c.optional]
        edits.append(LineEdit(path=path, line=parent.line, old=parent.line_text,
                              new=ticked_line(parent),
                              requires=[ticked_line(c) for c in required]))
        parent = spec.task(parent.parent) if parent.parent else None
    return edits


def shape(spec: Spec, only: list[str] | None = None, include_optional: bool = False,
          extra_edges: list[Edge] | None = None) -> tuple[list[SpecTask], list[Edge],
                                                         list[tuple[str, str]]]:
    """The tasks that would run, the edges between them and what is left out (no I/O)."""
    chosen, skipped = select(spec, only or [], include_optional)
    keys = {t.key for t in chosen}
    done = {t.key for t in spec.tasks if t.done}
    return chosen, restrict(infer_edges(spec) + list(extra_edges or []), keys, done), skipped


def waves(chosen: list[SpecTask], edges: list[Edge]) -> list[list[str]]:
    """Keys in waves: each wave only waits for earlier ones."""
    waits: dict[str, set[str]] = {t.key: set() for t in chosen}
    for edge in edges:
        waits[edge.task].add(edge.after)
    order: list[list[str]] = []
    placed: set[str] = set()
    while len(placed) < len(waits):
        wave = [k for k, deps in waits.items() if k not in placed and deps <= placed]
        if not wave:
            raise SpecError("the task list's dependencies form a cycle")
        order.append(wave)
        placed.update(wave)
    return order


def build_plan(
    root: Path,
    spec: Spec,
    *,
    agent: str = "kiro",
    only: list[str] | None = None,
    include_optional: bool = False,
    max_workers: int | None = None,
    extra_claims: dict[str, list[str]] | None = None,
    extra_edges: list[Edge] | None = None,
    id_suffix: str = "",
) -> SpecPlan:
    """The plan running ``spec``'s unchecked tasks (a planner may add claims and edges)."""
    chosen, edges, skipped = shape(spec, only, include_optional, extra_edges)
    waits: dict[str, list[str]] = {}
    for edge in edges:
        waits.setdefault(edge.task, []).append(edge.after)
    tasks: list[Task] = []
    id_of = {t.key: task_id(spec, t.key) + id_suffix for t in chosen}
    for item in chosen:
        claims = list(item.files)
        for claim in (extra_claims or {}).get(item.key, []):
            if claim not in claims:
                claims.append(claim)
        tasks.append(Task(
            id=id_of[item.key],
            title=f"{item.key} {item.title}"[:120],
            prompt=task_prompt(root, spec, item),
            agent=agent,
            claims=claims or [EVERYTHING],
            depends_on=[id_of[k] for k in waits.get(item.key, [])],
            extra_edits=tick_edits(spec, item),
        ))
    return SpecPlan(spec=spec, plan=Plan(max_workers=max_workers, task=tasks),
                    keys={v: k for k, v in id_of.items()}, edges=edges, skipped=skipped)
