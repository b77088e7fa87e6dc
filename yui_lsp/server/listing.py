"""The `yui.listTasks` answer: filtered, paged, and cheap to build again and again.

Editors call `yui.listTasks` on every refresh, and a busy workspace has hundreds of tasks
of which few change between two calls. Each task's JSON entry is therefore kept and
reused until something shown in it changes, so an answer costs a lookup per task rather
than a model dump per task (which also keeps the garbage collector's work, and its pauses,
small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yui_lsp.protocol import Task, TaskInfo
from yui_lsp.server.params import TaskListParams

#: Task fields left out of the compact form: free text of any length, which no list shows.
BULKY_TASK_FIELDS = frozenset({"prompt", "command"})

_Key = tuple[str, str, bool]


@dataclass(frozen=True)
class _Entry:
    task: Task
    state: tuple[Any, ...]
    json: dict[str, Any]


def _state(info: TaskInfo) -> tuple[Any, ...]:
    """Everything besides the task itself that an entry shows."""
    return (info.status, info.progress, info.message, info.agent_id,
            tuple(info.files_modified), info.error, info.updated_at, info.submitted_at)


class TaskListing:
    """Builds `yui.listTasks` answers, reusing the JSON of tasks that did not change."""

    def __init__(self) -> None:
        self._entries: dict[_Key, _Entry] = {}

    def answer(self, infos: list[TaskInfo], params: TaskListParams) -> dict[str, Any]:
        """``{tasks, total}``: the page of ``infos`` that ``params`` asks for."""
        self._forget_all_but(infos)
        wanted = set(params.status or ())
        matching = [i for i in infos if not wanted or i.status in wanted]
        end = None if params.limit is None else params.offset + params.limit
        page = matching[params.offset:end]
        return {"tasks": [self._json(info, params.verbose) for info in page],
                "total": len(matching)}

    def _json(self, info: TaskInfo, verbose: bool) -> dict[str, Any]:
        key = (info.coordinator_id, info.task.id, verbose)
        state = _state(info)
        entry = self._entries.get(key)
        # Our own coordinator hands back the same Task object every time: `is` is enough.
        if entry is not None and entry.state == state and (
                entry.task is info.task or entry.task == info.task):
            return entry.json
        exclude = None if verbose else {"task": set(BULKY_TASK_FIELDS)}
        made = info.model_dump(mode="json", by_alias=True, exclude=exclude)
        self._entries[key] = _Entry(info.task, state, made)
        return made

    def _forget_all_but(self, infos: list[TaskInfo]) -> None:
        """Drop entries of tasks no coordinator lists any more (memory stays flat)."""
        if len(self._entries) <= 2 * len(infos):
            return
        alive = {(i.coordinator_id, i.task.id) for i in infos}
        self._entries = {k: e for k, e in self._entries.items() if k[:2] in alive}
