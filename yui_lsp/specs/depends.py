"""Which task waits for which, and why, in the issue's order of authority.

1. Explicit markers: Kiro ``_Depends: 1.2, 3_`` (yui's extension), "(depends on T012)", and
   spec-kit's phases and ``[P]`` markers.
2. Structure: a parent completes when its sub-tasks do (waiting for a parent is waiting for
   them); a checkpoint waits for everything before it and everything after waits for it; a
   task that writes tests of X follows the task that builds X.
3. Files: the paths a task names are its claims; the scheduler never runs two tasks whose
   claims overlap. A task naming no file claims everything (``**``): it runs alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from yui_lsp.errors import PlanError
from yui_lsp.specs.model import Edge, Spec, SpecFormat, SpecTask

#: Claim of a task that names no file: it runs alone.
EVERYTHING = "**"

_TESTS = re.compile(r"\b(?:tests?|specs?)\b", re.IGNORECASE)
_TESTS_OF = re.compile(r"\btests?\b.*?\b(?:for|of|covering)\b\s+(?P<what>.+)$", re.IGNORECASE)
_TEST_FILE = re.compile(r"^(?:test_)?(?P<stem>.+?)(?:_test|\.test|\.spec|_spec|Test)?$")
_STOP = frozenset({
    "the", "a", "an", "and", "or", "of", "for", "to", "in", "on", "with", "all", "its",
    "their", "this", "that", "into", "from", "by", "unit", "property", "integration", "e2e",
    "end", "write", "add", "create", "tests", "test", "implement", "build", "logic",
    "function", "functions", "module", "component",
})


class SpecError(PlanError):
    """A spec cannot be read or run as written (unknown dependency, bad name...)."""


def work_keys(spec: Spec, key: str) -> list[str]:
    """The tasks with work behind ``key``: itself, or a parent's sub-tasks (recursively)."""
    task = spec.task(key)
    if task is None:
        return []
    if task.has_work:
        return [key]
    found: list[str] = []
    for child in task.children:
        found += work_keys(spec, child)
    return found


def infer_edges(spec: Spec) -> list[Edge]:
    """Every edge between tasks with work, each with its reason (done tasks included)."""
    edges: list[Edge] = []
    work = [t for t in spec.tasks if t.has_work]
    for task in work:
        for ref in task.depends:
            if spec.task(ref) is None:
                raise SpecError(f"{spec.tasks_rel}: task {task.key} depends on {ref}, "
                                "which is not a task of this list")
            edges += [Edge(task.key, k, f"explicit: depends on {ref}")
                      for k in work_keys(spec, ref) if k != task.key]
    if spec.format == SpecFormat.SPEC_KIT or any(t.key.startswith("T") for t in work):
        edges += _phase_edges(work)
    edges += _checkpoint_edges(work)
    edges += _test_edges(work)
    return _unique(edges)


def _unique(edges: Iterable[Edge]) -> list[Edge]:
    seen: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        seen.setdefault((edge.task, edge.after), edge)
    return list(seen.values())


def _phase_edges(work: list[SpecTask]) -> list[Edge]:
    """Phases run in order; inside one, a task without [P] follows the tasks before it."""
    edges: list[Edge] = []
    phases: dict[int, list[SpecTask]] = {}
    for task in work:
        phases.setdefault(task.phase, []).append(task)
    previous: list[SpecTask] = []
    for number in sorted(phases):
        members = phases[number]
        for task in members:
            edges += [Edge(task.key, p.key, f"phase order: {p.phase_title or 'the phase before'}"
                           " completes first") for p in previous]
        last_serial: SpecTask | None = None
        since: list[SpecTask] = []
        for task in members:
            if task.parallel:
                if last_serial is not None:
                    edges.append(Edge(task.key, last_serial.key,
                                      f"[P] tasks start after {last_serial.key}, the task "
                                      "without [P] before them"))
                since.append(task)
                continue
            before = since + ([last_serial] if last_serial is not None else [])
            edges += [Edge(task.key, b.key, "no [P]: runs after the tasks before it in its "
                           "phase") for b in before]
            last_serial, since = task, []
        previous = members
    return edges


def _checkpoint_edges(work: list[SpecTask]) -> list[Edge]:
    edges: list[Edge] = []
    for index, task in enumerate(work):
        if not task.checkpoint:
            continue
        edges += [Edge(task.key, t.key, "checkpoint: waits for every task before it")
                  for t in work[:index]]
        edges += [Edge(t.key, task.key, f"after checkpoint {task.key}")
                  for t in work[index + 1:]]
    return edges


def is_test_task(task: SpecTask) -> bool:
    return bool(_TESTS.search(task.title)) and not task.checkpoint


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1].split(".", 1)[0]
    match = _TEST_FILE.match(name)
    return (match["stem"] if match else name).lower()


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOP}


def _test_edges(work: list[SpecTask]) -> list[Edge]:
    """A task writing tests of X follows the task building X (files, then title words,
    then the earlier sub-tasks of its own parent)."""
    edges: list[Edge] = []
    builders = [t for t in work if not is_test_task(t) and not t.checkpoint]
    for task in work:
        # Explicit markers win: a [P] task or one with _Depends: keeps what it says.
        if not is_test_task(task) or task.depends or task.parallel:
            continue
        earlier = [b for b in builders if b.line < task.line]
        stems = {_stem(f) for f in task.files}
        found = [b for b in earlier if stems & {_stem(f) for f in b.files}]
        reason = "tests of what {b} builds (same module)"
        if not found and (what := _TESTS_OF.search(task.title)):
            wanted = _words(what["what"])
            found = [b for b in earlier if wanted and wanted <= _words(b.title + " "
                                                                        + " ".join(b.files))]
            found = found[-1:]
            reason = "tests of what {b} builds (named in its title)"
        if not found and task.parent is not None:
            found = [b for b in earlier if b.parent == task.parent]
            reason = "tests of the work of its parent task before it ({b})"
        edges += [Edge(task.key, b.key, reason.format(b=b.key)) for b in found]
    return edges


def restrict(edges: list[Edge], selected: set[str], done: set[str]) -> list[Edge]:
    """Edges among ``selected`` tasks; a path through unselected, unfinished tasks still
    orders them (A waits for C when A waits for an unselected B that waits for C)."""
    after: dict[str, list[Edge]] = {}
    for edge in edges:
        after.setdefault(edge.task, []).append(edge)
    result: list[Edge] = []
    for key in selected:
        seen: set[str] = set()
        stack = [(e, e.reason) for e in after.get(key, [])]
        while stack:
            edge, reason = stack.pop()
            if edge.after in seen:
                continue
            seen.add(edge.after)
            if edge.after in selected:
                result.append(Edge(key, edge.after, reason))
            elif edge.after not in done:
                stack += [(e, reason) for e in after.get(edge.after, [])]
    return _reduce(_unique(sorted(result, key=lambda e: (e.task, e.after))))


def _reduce(edges: list[Edge]) -> list[Edge]:
    """Drop an edge A→C when A already waits for C through another task (same order,
    fewer and more telling edges in the dry run)."""
    after: dict[str, set[str]] = {}
    for edge in edges:
        after.setdefault(edge.task, set()).add(edge.after)

    def reachable(start: str, skip: str) -> set[str]:
        seen: set[str] = set()
        stack = [b for b in after.get(start, ()) if b != skip]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack += after.get(node, ())
        return seen

    return [e for e in edges if e.after not in reachable(e.task, e.after)]
