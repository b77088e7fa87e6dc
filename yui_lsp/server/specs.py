"""Specs in the editor: `yui.listSpecs` / `yui.runSpec`, and in an open tasks.md a code lens
per unchecked task, one for the whole list, a diagnostic per running task line that clears
when its result (and its tick) lands, and a hover with the agent, time and files."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import anyio
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.protocol import Message, TaskStatus, TaskUpdate
from yui_lsp.server.host import CoordinatorHost, Folder
from yui_lsp.server.marks import SOURCE, WorkspaceMarks
from yui_lsp.server.spec_params import (
    ListSpecsParams,
    RunSpecParams,
    RunSpecResult,
    SpecListResult,
    SpecSummary,
    SpecTaskSummary,
)
from yui_lsp.server.uris import path_of, uri_of
from yui_lsp.specs import (
    Spec,
    SpecFormat,
    SpecPlan,
    build_plan,
    find_specs,
    load_spec,
    task_id,
)
from yui_lsp.specs.parse import parse_tasks
from yui_lsp.specs.plan import shape, waves

#: A tasks.md the server offers lenses on, and the spec format its place implies.
_TASKS_MD = re.compile(r"^(?:(?P<kiro>\.kiro/specs)|specs)/(?P<name>[^/]+)/tasks\.md$")
#: Diagnostic code of a spec task's state.
KIND_SPEC = "spec-task"
_SEVERITY = {
    TaskStatus.FAILED: lsp.DiagnosticSeverity.Error,
    TaskStatus.CONFLICT: lsp.DiagnosticSeverity.Warning,
    TaskStatus.CANCELLED: lsp.DiagnosticSeverity.Warning,
}


@dataclass
class TrackedTask:
    """A spec task this server submitted, and what became of it."""

    folder: Folder
    tasks_rel: str
    key: str
    line: int
    line_text: str
    agent: str
    status: TaskStatus = TaskStatus.PENDING
    message: str = ""
    files: list[str] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None


class SpecRuns:
    """The spec feature of the server (fed by the host like every feature)."""

    def __init__(self, server: LanguageServer, host: CoordinatorHost,
                 marks: WorkspaceMarks) -> None:
        self._server = server
        self._host = host
        self._marks = marks
        self.tracked: dict[str, TrackedTask] = {}
        marks.extra.append(self._diagnostics)

    # ----------------------------------------------------------------- feed

    def on_locks(self, folder: Folder) -> None:
        return None

    def on_message(self, folder: Folder, message: Message) -> None:
        if not isinstance(message, TaskUpdate) or message.task_id not in self.tracked:
            return
        entry = self.tracked[message.task_id]
        changed = entry.status != message.status
        entry.status = message.status
        entry.message = message.error or message.message or entry.message
        if message.files_modified:
            entry.files = list(message.files_modified)
        if message.status == TaskStatus.RUNNING and entry.started is None:
            entry.started = time.monotonic()
        if message.status.terminal:
            entry.ended = time.monotonic()
        if changed:
            uri = uri_of(folder.root, entry.tasks_rel)
            self._marks.refresh(only_uri=uri)
            self._marks.refresh_lenses()

    # ----------------------------------------------------------------- specs of a document

    def _document_spec(self, folder: Folder, rel: str) -> Spec | None:
        """The spec whose tasks.md is ``rel``, read from the editor's buffer."""
        match = _TASKS_MD.match(rel)
        doc = folder.documents.find(rel) if match else None
        if match is None or doc is None:
            return None
        fmt = SpecFormat.KIRO if match["kiro"] else SpecFormat.SPEC_KIT
        spec_rel = rel.rsplit("/", 1)[0]
        return Spec(name=match["name"], format=fmt, folder=folder.root / spec_rel, rel=spec_rel,
                    tasks=parse_tasks(doc.text))

    def _locate(self, uri: str) -> tuple[Folder, Spec] | None:
        located = self._host.folder_of_uri(uri)
        if located is None:
            return None
        spec = self._document_spec(*located)
        return (located[0], spec) if spec is not None else None

    # ----------------------------------------------------------------- commands

    async def list_specs(self, params: ListSpecsParams) -> SpecListResult:
        folders = [self._host.folder(params.folder)] if params.folder else \
            list(self._host.folders.values())
        found: list[SpecSummary] = []
        for folder in folders:
            specs = await anyio.to_thread.run_sync(find_specs, folder.root)
            for spec in specs:
                spec = self._document_spec(folder, spec.tasks_rel) or spec
                found.append(SpecSummary(
                    name=spec.name, format=spec.format.value, path=spec.tasks_rel,
                    uri=uri_of(folder.root, spec.tasks_rel), folder=folder.uri,
                    done=spec.done_count, total=len(spec.counted),
                    tasks=[SpecTaskSummary(key=t.key, title=t.title, line=t.line, done=t.done,
                                           optional=t.optional, parent=t.parent)
                           for t in spec.tasks]))
        return SpecListResult(specs=found)

    async def prepare(self, params: RunSpecParams) -> tuple[Folder, SpecPlan]:
        """The folder and the plan a `yui.runSpec` asks for (read from the buffer if open)."""
        folder = self._folder_for(params)
        name = params.spec
        if "://" in name:
            path = path_of(name)
            name = str(path) if path is not None else name
        spec = await anyio.to_thread.run_sync(load_spec, folder.root, name)
        spec = self._document_spec(folder, spec.tasks_rel) or spec
        # Ids stay readable (``shop-2.1``); a rerun in this session gets ``-r2``, ``-r3``.
        known = set(folder.manager.monitor_progress())
        ids = {task_id(spec, t.key) for t in spec.tasks}
        suffix, run = "", 1
        while {i + suffix for i in ids} & known:
            run += 1
            suffix = f"-r{run}"

        def plan() -> SpecPlan:
            return build_plan(folder.root, spec, agent=params.agent, only=params.only,
                              include_optional=params.include_optional,
                              max_workers=params.max_workers, id_suffix=suffix)

        return folder, self._without_active(folder, await anyio.to_thread.run_sync(plan))

    def _without_active(self, folder: Folder, spec_plan: SpecPlan) -> SpecPlan:
        """Tasks of an earlier run still on their way are not started twice: they are left
        out, and what depends on them waits for the running task instead."""
        active = {key: tid for key, (tid, _) in self._active(folder, spec_plan.spec).items()}
        if not active:
            return spec_plan
        running = {tid for tid, key in spec_plan.keys.items() if key in active}
        kept = [t.model_copy(update={"depends_on": [
            active[spec_plan.keys[d]] if d in running else d for d in t.depends_on]})
            for t in spec_plan.plan.tasks if t.id not in running]
        spec_plan.plan = spec_plan.plan.model_copy(update={"tasks": kept})
        spec_plan.skipped += [(key, "already running") for key in sorted(active)]
        spec_plan.edges = [e for e in spec_plan.edges if e.task not in active]
        return spec_plan

    def _folder_for(self, params: RunSpecParams) -> Folder:
        if params.folder is None and "://" in params.spec:
            located = self._host.folder_of_uri(params.spec)
            if located is not None:
                return located[0]
        return self._host.folder(params.folder)

    def track(self, folder: Folder, spec_plan: SpecPlan, task_ids: list[str]) -> RunSpecResult:
        """Follow the submitted tasks (ids in plan order) to show their state."""
        for task, submitted in zip(spec_plan.plan.tasks, task_ids, strict=True):
            item = spec_plan.spec.task(spec_plan.keys[task.id])
            assert item is not None
            self.tracked[submitted] = TrackedTask(
                folder=folder, tasks_rel=spec_plan.spec.tasks_rel, key=item.key, line=item.line,
                line_text=item.line_text, agent=task.agent, status=TaskStatus.QUEUED)
        self._marks.refresh(only_uri=uri_of(folder.root, spec_plan.spec.tasks_rel))
        self._marks.refresh_lenses()
        chosen = [t for t in spec_plan.spec.tasks if t.key in spec_plan.keys.values()]
        return RunSpecResult(
            task_ids=task_ids, keys=[spec_plan.keys[t.id] for t in spec_plan.plan.tasks],
            waves=len(waves(chosen, spec_plan.edges)),
            skipped=[f"{k}: {why}" for k, why in spec_plan.skipped])

    # ----------------------------------------------------------------- lenses

    def code_lenses(self, uri: str) -> list[lsp.CodeLens]:
        located = self._locate(uri)
        if located is None:
            return []
        folder, spec = located
        chosen, edges, _ = shape(spec)
        active = self._active(folder, spec)
        startable = [t for t in chosen if t.key not in active]
        lenses: list[lsp.CodeLens] = []
        if startable:
            count = len(waves(chosen, edges))
            lenses.append(_lens(0, f"▶▶ Run {len(startable)} tasks in parallel ({count} waves)",
                                "yui.runSpec", {"spec": uri}))
        for task in spec.tasks:
            if task.done:
                continue
            entry = active.get(task.key)
            if entry is not None:
                lenses.append(_lens(task.line, f"■ Cancel ({entry[1].status.value})",
                                    "yui.cancelTask", {"taskId": entry[0]}))
            elif task.has_work or any(not spec.task(c).done  # type: ignore[union-attr]
                                      for c in task.children):
                lenses.append(_lens(task.line, "▶ Run task", "yui.runSpec",
                                    {"spec": uri, "only": [task.key],
                                     "includeOptional": task.optional}))
        return lenses

    def _active(self, folder: Folder, spec: Spec) -> dict[str, tuple[str, TrackedTask]]:
        """Key -> (task id, entry) of the spec's tasks that have not ended."""
        return {e.key: (tid, e) for tid, e in self.tracked.items()
                if e.folder is folder and e.tasks_rel == spec.tasks_rel
                and not e.status.terminal}

    # ----------------------------------------------------------------- diagnostics and hover

    def _latest(self, folder: Folder, rel: str) -> dict[str, tuple[str, TrackedTask]]:
        """Key -> the newest (task id, entry) of each task of the tasks.md at ``rel``."""
        latest: dict[str, tuple[str, TrackedTask]] = {}
        for tid, entry in self.tracked.items():
            if entry.folder is folder and entry.tasks_rel == rel:
                latest[entry.key] = (tid, entry)
        return latest

    def _diagnostics(self, folder: Folder, rel: str, uri: str) -> list[lsp.Diagnostic]:
        spec = self._document_spec(folder, rel)
        if spec is None:
            return []
        found: list[lsp.Diagnostic] = []
        for key, (tid, entry) in self._latest(folder, rel).items():
            task = spec.task(key)
            if task is None or entry.status == TaskStatus.COMPLETED or task.done:
                continue
            text = f"yui: {entry.status.value}" + (f" — {entry.message}" if entry.message
                                                   else "") + f" ({entry.agent})"
            found.append(lsp.Diagnostic(
                range=lsp.Range(start=lsp.Position(line=task.line, character=0),
                                end=lsp.Position(line=task.line, character=len(task.line_text))),
                message=text, severity=_SEVERITY.get(entry.status,
                                                     lsp.DiagnosticSeverity.Information),
                source=SOURCE, code=KIND_SPEC,
                data={"kind": KIND_SPEC, "taskId": tid, "key": key}))
        return found

    def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        located = self._locate(params.text_document.uri)
        if located is None:
            return None
        folder, spec = located
        task = next((t for t in spec.tasks if t.line == params.position.line), None)
        if task is None:
            return None
        found = self._latest(folder, spec.tasks_rel).get(task.key)
        if found is None:
            return None
        tid, entry = found
        lines = [f"**yui** task `{tid}`: {entry.status.value}", f"agent: {entry.agent}"]
        if entry.started is not None:
            spent = (entry.ended or time.monotonic()) - entry.started
            lines.append(f"time: {spent:.1f} s")
        if entry.files:
            lines.append("files: " + ", ".join(f"`{f}`" for f in entry.files))
        if entry.message:
            lines.append(entry.message)
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                    value="\n\n".join(lines)))


def _lens(line: int, title: str, command: str, argument: dict[str, object]) -> lsp.CodeLens:
    position = lsp.Position(line=line, character=0)
    return lsp.CodeLens(range=lsp.Range(start=position, end=position),
                        command=lsp.Command(title=title, command=command, arguments=[argument]))


__all__ = ["KIND_SPEC", "SpecRuns", "TrackedTask"]
