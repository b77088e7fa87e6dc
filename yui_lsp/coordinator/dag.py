"""Task dependencies as a DAG: validation (unknown ids, cycles) and a topological order."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from yui_lsp.errors import DependencyCycleError, PlanError


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, ..., a]``, or None. ``edges[x]`` = what x depends on."""
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {node: white for node in edges}
    for start in sorted(edges):
        if colour[start] != white:
            continue
        # Iterative DFS so a 10k-deep chain can't overflow the stack.
        path: list[str] = [start]
        iters = [iter(sorted(edges[start]))]
        colour[start] = grey
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                iters.pop()
                continue
            if nxt not in colour:
                continue
            if colour[nxt] == grey:
                return [*path[path.index(nxt) :], nxt]
            if colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                iters.append(iter(sorted(edges[nxt])))
    return None


def validate(new: Mapping[str, list[str]], known: Container[str] = ()) -> None:
    """Refuse unknown dependencies and cycles among ``new`` tasks (plus already ``known`` ids).

    ``known`` is only asked ``in``: a coordinator passes a view of its tables, not a copy.
    """
    known_ids = known
    for task_id, deps in new.items():
        for dep in deps:
            if dep == task_id:
                raise DependencyCycleError([task_id, task_id])
            if dep not in new and dep not in known_ids:
                raise PlanError(f"task {task_id!r} depends on unknown task {dep!r}")
    cycle = find_cycle(new)
    if cycle:
        raise DependencyCycleError(cycle)


def topological_order(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tasks in waves: each wave depends only on earlier waves (for ``--dry-run``)."""
    remaining = {k: {d for d in v if d in edges} for k, v in edges.items()}
    waves: list[list[str]] = []
    while remaining:
        ready = sorted(k for k, deps in remaining.items() if not deps)
        if not ready:
            raise DependencyCycleError(find_cycle(remaining) or sorted(remaining))
        waves.append(ready)
        for k in ready:
            del remaining[k]
        for deps in remaining.values():
            deps.difference_update(ready)
    return waves
