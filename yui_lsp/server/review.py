"""The commands around a task's result: review, diff, log, conflict choices, clearing.

See docs/protocol.md ("Review workflow") for the contract the editor clients follow.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path

import anyio
from pydantic import BaseModel

from yui_lsp.coordinator import all_tasks
from yui_lsp.errors import PlanError, UnknownTaskError, YuiError
from yui_lsp.protocol import ChangeKind, FileConflict, TaskInfo
from yui_lsp.server.documents import EditorReader
from yui_lsp.server.host import CoordinatorHost, Folder
from yui_lsp.server.marks import ConflictMark, WorkspaceMarks
from yui_lsp.server.params import (
    ClearTasksParams,
    ClearTasksResult,
    DiffFile,
    DiffResult,
    ParseCommandParams,
    ParseCommandResult,
    ResolveConflictParams,
    ResolveResult,
    ResultDecision,
    ResultParams,
    ShowDiffParams,
    TaskLogParams,
    TaskLogResult,
)
from yui_lsp.server.task_logs import TaskLogs, log_path, parse_lines, read_log
from yui_lsp.server.uris import rel_in, uri_of
from yui_lsp.workspace import MergedFile, is_text

#: command -> (argument model, name of the ReviewCommands method handling it)
REVIEW_TABLE: dict[str, tuple[type[BaseModel], str]] = {
    "yui.applyResult": (ResultParams, "apply_result"),
    "yui.discardResult": (ResultParams, "discard_result"),
    "yui.showDiff": (ShowDiffParams, "show_diff"),
    "yui.taskLog": (TaskLogParams, "task_log"),
    "yui.resolveConflict": (ResolveConflictParams, "resolve_conflict"),
    "yui.parseCommand": (ParseCommandParams, "parse_command"),
    "yui.clearTasks": (ClearTasksParams, "clear_tasks"),
}


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8")


def conflict_markers(base: bytes, ours: bytes, theirs: bytes, title: str) -> bytes:
    """``ours`` and ``theirs`` merged with standard conflict markers where they overlap."""
    with tempfile.TemporaryDirectory(prefix="yui-resolve-") as tmp:
        names = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            (Path(tmp) / name).write_bytes(data)
            names.append(str(Path(tmp) / name))
        done = subprocess.run(
            ["git", "merge-file", "-p", "-L", "yours (editor)", "-L", "base",
             "-L", f"task '{title}'", *names], capture_output=True, check=False)
    if done.returncode < 0 or done.returncode > 127:
        raise YuiError(f"git merge-file failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


class ReviewCommands:
    """Handlers of REVIEW_TABLE; registered by :class:`~yui_lsp.server.commands.Commands`."""

    def __init__(self, host: CoordinatorHost, marks: WorkspaceMarks, logs: TaskLogs) -> None:
        self._host = host
        self._marks = marks
        self._logs = logs
        #: Ended tasks the user cleared from the lists.
        self.cleared: set[str] = set()

    # ----------------------------------------------------------------- lookups

    def _info(self, task_id: str) -> tuple[Folder, TaskInfo | None]:
        """The folder of a task (ours or another coordinator's) and its info, if listed."""
        for folder in self._host.folders.values():
            for info in folder.manager.tasks():
                if info.task.id == task_id:
                    return folder, info
        for folder in self._host.folders.values():
            for info in all_tasks(folder.root):
                if info.task.id == task_id:
                    return folder, info
        for folder in self._host.folders.values():
            if log_path(folder.root, task_id).is_file():
                return folder, None
        raise UnknownTaskError(task_id)

    def _name(self, task_id: str) -> str:
        """'Title' (id) of a task, for messages (from what is known without reading files)."""
        held = self._host.review.held.get(task_id)
        if held is not None:
            return f"'{held.task.display_title}' ({task_id})"
        mark = self._marks.conflicts.get(task_id)
        if mark is not None:
            return f"'{mark.title}' ({task_id})"
        for folder in self._host.folders.values():
            for info in folder.manager.tasks():
                if info.task.id == task_id:
                    return f"'{info.task.display_title}' ({task_id})"
        return repr(task_id)

    @staticmethod
    def _rel_files(folder: Folder, files: list[str] | None) -> set[str] | None:
        if files is None:
            return None
        found = set()
        for item in files:
            rel = rel_in(folder.root, item) if "://" in item else item.strip("/")
            if rel is None:
                raise PlanError(f"{item} is not inside the workspace folder {folder.root}")
            found.add(rel)
        return found

    # ----------------------------------------------------------------- review

    async def apply_result(self, params: ResultParams) -> ResultDecision:
        return await self._decide(params, apply=True)

    async def discard_result(self, params: ResultParams) -> ResultDecision:
        if params.task_id in self._host.review.held:
            return await self._decide(params, apply=False)
        mark = self._marks.conflicts.get(params.task_id)
        if mark is not None:
            chosen = self._rel_files(mark.folder, params.files)
            dropped = self._drop_conflicts(mark, chosen)
            return ResultDecision(ok=True, discarded=dropped,
                                  message=f"conflict of {self._name(params.task_id)} dismissed; "
                                          "the workspace keeps its text")
        return ResultDecision(ok=False, message=await self._nothing(params.task_id, "to discard"))

    async def _decide(self, params: ResultParams, apply: bool) -> ResultDecision:
        held = self._host.review.held.get(params.task_id)
        if held is None:
            return ResultDecision(ok=False,
                                  message=await self._nothing(params.task_id, "to apply"))
        folder = self._host.folder_of_task(params.task_id)
        answer = await self._host.review.decide(
            params.task_id, apply, self._rel_files(folder, params.files))
        answer.message = f"{self._name(params.task_id)}: {answer.message}"
        return answer

    async def _nothing(self, task_id: str, what: str) -> str:
        # UnknownTaskError for an id nobody knows; other coordinators' tables are files.
        _, info = await anyio.to_thread.run_sync(self._info, task_id)
        name = f"'{info.task.display_title}' ({task_id})" if info else repr(task_id)
        state = f" (it is {info.status.value})" if info is not None else ""
        return f"nothing {what}: no result of task {name} is waiting{state}"

    # ----------------------------------------------------------------- diff

    async def show_diff(self, params: ShowDiffParams) -> DiffResult:
        held = self._host.review.held.get(params.task_id)
        if held is not None:
            folder = self._host.folder_of_task(params.task_id)
            files = [self._diff_file(folder, merged.path, merged.old_path or merged.path,
                                     merged.kind, merged.content, merged.binary)
                     for merged in held.files if params.path in (None, merged.path)]
            return DiffResult(task_id=params.task_id, title=held.task.display_title,
                              source="review", files=files)
        mark = self._marks.conflicts.get(params.task_id)
        if mark is None:
            raise YuiError(f"task {self._name(params.task_id)} has no result waiting for "
                           "review and no conflict to show")
        chosen = [c for c in mark.conflicts if params.path in (None, c.path)]
        files = []
        for conflict in chosen:
            if conflict.sides is None:
                continue
            theirs = conflict.sides[1]
            kind = ChangeKind.DELETE if theirs is None else ChangeKind.MODIFY
            entry = self._diff_file(mark.folder, conflict.path, conflict.path, kind, theirs,
                                    theirs is not None and not is_text(theirs))
            entry.conflict = conflict.reason
            files.append(entry)
        hunks = [f"--- {c.path}: {c.reason}\n{c.hunks}" for c in chosen]
        return DiffResult(task_id=params.task_id, title=mark.title, source="conflict",
                          files=files, diff="\n".join(hunks))

    @staticmethod
    def _diff_file(folder: Folder, path: str, source: str, kind: ChangeKind,
                   result: bytes | None, binary: bool) -> DiffFile:
        current = EditorReader(folder.documents).read(source)
        binary = binary or (current is not None and not is_text(current))
        return DiffFile(path=path, uri=uri_of(folder.root, path), kind=kind,
                        current=None if binary else _text(current),
                        result=None if binary else _text(result), binary=binary)

    # ----------------------------------------------------------------- log

    async def task_log(self, params: TaskLogParams) -> TaskLogResult:
        task_id = params.task_id
        folder, info = await anyio.to_thread.run_sync(self._info, task_id)
        title = info.task.display_title if info else task_id
        data, offset = await anyio.to_thread.run_sync(read_log, folder.root, task_id, 0)
        lines = parse_lines(data)
        if params.tail is not None:
            lines = lines[len(lines) - params.tail:] if params.tail else []

        def ended() -> bool:
            try:
                _, now = self._info(task_id)
            except UnknownTaskError:
                return True
            return now is None or now.status.terminal

        done = await anyio.to_thread.run_sync(ended)
        if not params.follow:
            self._logs.stop(task_id)
        elif not done and not self._logs.following(task_id):
            self._host.task_group.start_soon(self._logs.follow, folder.root, task_id, title,
                                             offset, ended)
        return TaskLogResult(task_id=task_id, title=title, lines=lines, done=done,
                             following=params.follow and not done)

    # ----------------------------------------------------------------- conflicts

    async def resolve_conflict(self, params: ResolveConflictParams) -> ResolveResult:
        mark = self._marks.conflicts.get(params.task_id)
        if mark is None:
            raise YuiError(f"task {self._name(params.task_id)} has no conflict to resolve")
        chosen = self._rel_files(mark.folder, params.files)
        conflicts = [c for c in mark.conflicts if chosen is None or c.path in chosen]
        if not conflicts:
            raise PlanError(f"none of {sorted(chosen or [])} conflicts in task "
                            f"{self._name(params.task_id)}")
        if params.choice == "rerun":
            self._marks.discard(params.task_id)
            await mark.folder.manager.retry(params.task_id)
            return ResolveResult(ok=True, files=[c.path for c in conflicts],
                                 message=f"task {self._name(params.task_id)} runs again on "
                                         "the workspace as the editor holds it")
        if params.choice == "mine":
            dropped = self._drop_conflicts(mark, {c.path for c in conflicts})
            return ResolveResult(ok=True, files=dropped, message="kept your version")
        files, skipped = await anyio.to_thread.run_sync(
            self._resolution, mark, conflicts, params.choice == "editor")
        if files:
            applier = mark.folder.applier
            if applier is None:
                raise YuiError("this folder cannot apply edits")
            await applier.land_now(mark.task_id, mark.title, files,
                                   save=params.choice == "theirs")
        self._drop_conflicts(mark, {f.path for f in files})
        what = "conflict markers written into the editor (unsaved)" \
            if params.choice == "editor" else "took the task's version"
        note = f"; cannot resolve {', '.join(skipped)} this way" if skipped else ""
        return ResolveResult(ok=bool(files), files=[f.path for f in files],
                             message=f"{what}: {', '.join(f.path for f in files)}{note}"
                             if files else f"nothing resolved{note}")

    @staticmethod
    def _resolution(mark: ConflictMark, conflicts: list[FileConflict],
                    markers: bool) -> tuple[list[MergedFile], list[str]]:
        reader = EditorReader(mark.folder.documents)
        files: list[MergedFile] = []
        skipped: list[str] = []
        for conflict in conflicts:
            ours = reader.read(conflict.path)
            sides = conflict.sides
            if sides is None or (markers and (ours is None or sides[1] is None)):
                skipped.append(conflict.path)
                continue
            base, theirs = sides
            if markers:
                assert ours is not None and theirs is not None
                if not all(is_text(t) for t in (base or b"", ours, theirs)):
                    skipped.append(conflict.path)
                    continue
                content: bytes | None = conflict_markers(base or b"", ours, theirs, mark.title)
            else:
                content = theirs
            kind = ChangeKind.DELETE if content is None else \
                ChangeKind.CREATE if ours is None else ChangeKind.MODIFY
            files.append(MergedFile(path=conflict.path, kind=kind, content=content,
                                    expected=ours))
        return files, skipped

    def _drop_conflicts(self, mark: ConflictMark, paths: set[str] | None) -> list[str]:
        dropped = [c.path for c in mark.conflicts if paths is None or c.path in paths]
        mark.conflicts = [c for c in mark.conflicts if c.path not in dropped]
        if not mark.conflicts:
            self._marks.discard(mark.task_id)
        else:
            self._marks.refresh()
        return dropped

    # ----------------------------------------------------------------- small ones

    async def parse_command(self, params: ParseCommandParams) -> ParseCommandResult:
        try:
            argv = shlex.split(params.command_line)
        except ValueError as exc:
            raise PlanError(f"cannot split the command line: {exc}") from None
        if not argv:
            raise PlanError("the command line is empty")
        return ParseCommandResult(argv=argv, display=shlex.join(argv))

    async def clear_tasks(self, params: ClearTasksParams) -> ClearTasksResult:
        folders = [self._host.folder(params.folder)] if params.folder else \
            list(self._host.folders.values())
        cleared = []
        for folder in folders:
            listed = folder.manager.tasks() + await anyio.to_thread.run_sync(
                all_tasks, folder.root)
            for info in listed:
                wanted = params.task_ids is None or info.task.id in params.task_ids
                if wanted and info.status.terminal and info.task.id not in cleared:
                    cleared.append(info.task.id)
                    self._marks.discard(info.task.id)
        self.cleared.update(cleared)
        return ClearTasksResult(cleared=cleared)

    def visible(self, tasks: list[TaskInfo]) -> list[TaskInfo]:
        """``tasks`` without the ended ones the user cleared (a re-run shows again)."""
        if not self.cleared:
            return tasks
        for info in tasks:
            if info.task.id in self.cleared and not info.status.terminal:
                self.cleared.discard(info.task.id)
        return [t for t in tasks if t.task.id not in self.cleared]
