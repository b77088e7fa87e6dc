"""The `yui.*` commands (workspace/executeCommand): one JSON object in, one out.

Arguments are validated by pydantic models; a bad argument is answered with InvalidParams
naming the field, a user error (unknown task, path outside the workspace...) with its
message, and the server keeps serving. Submissions answer as soon as the coordinator has
queued the tasks, before any agent starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcServerError
from pygls.lsp.server import LanguageServer

from yui_lsp.coordinator import (
    all_tasks,
    control,
    list_agents,
    recent_tasks,
)
from yui_lsp.coordinator.components import (
    DEVELOP_COMPONENTS,
    MULTI_LANG_COMPONENTS,
    component_tasks,
    files_to_refactor,
    refactor_tasks,
)
from yui_lsp.coordinator.doctor import diagnose
from yui_lsp.coordinator.planning import plan_with_yui
from yui_lsp.coordinator.validation import check_inside
from yui_lsp.errors import (
    PathOutsideWorkspaceError,
    PlanError,
    UnknownAgentError,
    UnknownTaskError,
    YuiError,
)
from yui_lsp.protocol import Plan, RefactorSpec, Task, TaskInfo, new_task_id
from yui_lsp.server.command_names import COMMAND_NAMES
from yui_lsp.server.host import CoordinatorHost, Folder
from yui_lsp.server.listing import TaskListing
from yui_lsp.server.marks import WorkspaceMarks
from yui_lsp.server.params import (
    AgentListResult,
    DevelopParams,
    DoctorResult,
    ListParams,
    MultiLangParams,
    OkResult,
    PlanParams,
    PlanResult,
    RefactorParams,
    SubmitManyResult,
    SubmitPlanParams,
    SubmitResult,
    SubmitTaskParams,
    TaskIdParams,
    TaskListParams,
)
from yui_lsp.server.review import REVIEW_TABLE, ReviewCommands
from yui_lsp.server.spec_params import (
    ListSpecsParams,
    RunSpecParams,
    RunSpecResult,
    SpecListResult,
)
from yui_lsp.server.specs import SpecRuns
from yui_lsp.server.task_logs import TaskLogs
from yui_lsp.server.wire import EncodedJson, WireJson, encode_records, wire
from yui_lsp.workspace.statefault import state_fault

#: JSON-RPC error code of a YuiError that is not about the arguments.
YUI_ERROR_CODE = -32001
#: Errors caused by what the caller asked for: answered as InvalidParams.
_BAD_REQUEST = (PlanError, PathOutsideWorkspaceError, UnknownAgentError, UnknownTaskError)

P = TypeVar("P", bound=BaseModel)
Handler = Callable[[Any], Awaitable[BaseModel | WireJson | EncodedJson]]


def _field_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "argument"
    return f"invalid argument {where}: {err['msg']}"


def parse_argument(model: type[P], args: tuple[Any, ...]) -> P:
    """The single object argument of a command, validated."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(f"expected one JSON object argument, got {len(args)}")
    raw = args[0] if args else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(f"expected one JSON object argument, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise JsonRpcInvalidParams(_field_error(exc)) from None


#: command -> (argument model, name of the Commands method handling it)
TABLE: dict[str, tuple[type[BaseModel], str]] = {
    "yui.submitTask": (SubmitTaskParams, "submit_task"),
    "yui.submitPlan": (SubmitPlanParams, "submit_plan"),
    "yui.develop": (DevelopParams, "develop"),
    "yui.multiLang": (MultiLangParams, "multi_lang"),
    "yui.refactor": (RefactorParams, "refactor"),
    "yui.cancelTask": (TaskIdParams, "cancel_task"),
    "yui.retryTask": (TaskIdParams, "retry_task"),
    "yui.listTasks": (TaskListParams, "list_tasks"),
    "yui.listLocks": (ListParams, "list_locks"),
    "yui.listAgents": (ListParams, "list_agents"),
    "yui.plan": (PlanParams, "plan"),
    "yui.doctor": (ListParams, "doctor"),
    "yui.listSpecs": (ListSpecsParams, "list_specs"),
    "yui.runSpec": (RunSpecParams, "run_spec"),
}

# The server announces these names before this module is imported: keep them in step.
assert sorted(COMMAND_NAMES) == sorted(TABLE | REVIEW_TABLE), "update server/command_names.py"


class Commands:
    """The handlers of the commands (the server routes each name to :meth:`run`); each
    handler is a small method."""

    def __init__(self, server: LanguageServer, host: CoordinatorHost,
                 marks: WorkspaceMarks) -> None:
        self._server = server
        self._host = host
        self._marks = marks
        self._listing = TaskListing()
        self.specs = SpecRuns(server, host, marks)
        self.review = ReviewCommands(host, marks, TaskLogs(server))
        self._handlers: dict[str, tuple[type[BaseModel], Handler]] = {
            name: (model, getattr(self, method)) for name, (model, method) in TABLE.items()}
        self._handlers.update({name: (model, getattr(self.review, method))
                               for name, (model, method) in REVIEW_TABLE.items()})

    @staticmethod
    def table_names() -> list[str]:
        """Every command this server registers."""
        return sorted(TABLE | REVIEW_TABLE)

    async def run(self, name: str, args: tuple[Any, ...]) -> Any:
        """Command ``name`` with the client's arguments: validated, run, answered as JSON."""
        model, handler = self._handlers[name]
        params = parse_argument(model, args)
        await self._host.wait_ready()
        try:
            result = await handler(params)
            await self._host.settle()
        except _BAD_REQUEST as exc:
            raise JsonRpcInvalidParams(str(exc)) from None
        except YuiError as exc:
            raise JsonRpcServerError(  # type: ignore[no-untyped-call]
                str(exc), YUI_ERROR_CODE) from None
        except ValidationError as exc:
            raise JsonRpcInvalidParams(_field_error(exc)) from None
        except OSError as exc:
            fault = state_fault(exc)  # yui's state in the way: the user's to fix
            if fault is None:
                raise
            raise JsonRpcServerError(  # type: ignore[no-untyped-call]
                str(fault), YUI_ERROR_CODE) from None
        return result if isinstance(result, WireJson | EncodedJson) else \
            wire(result, by_alias=True)

    # ----------------------------------------------------------------- submit

    async def _submit(self, folder: Folder, tasks: list[Task]) -> list[str]:
        futures = await folder.manager.submit_plan(Plan.model_validate({"tasks": tasks}))
        return [f.task_id for f in futures]

    async def submit_task(self, params: SubmitTaskParams) -> SubmitResult:
        folder = self._host.folder(params.folder)
        task = Task.model_validate(params.model_dump(exclude={"folder"}))
        future = await folder.manager.submit_task(task)
        return SubmitResult(task_id=future.task_id)

    def _limit_workers(self, folder: Folder, max_workers: int | None) -> None:
        # The coordinator has one worker limit; a command that names one sets it.
        if max_workers is not None:
            folder.manager.max_workers = max_workers

    async def submit_plan(self, params: SubmitPlanParams) -> SubmitManyResult:
        folder = self._host.folder(params.folder)
        self._limit_workers(folder, params.max_workers)
        return SubmitManyResult(task_ids=await self._submit(folder, list(params.tasks)))

    async def develop(self, params: DevelopParams) -> SubmitManyResult:
        return await self._components(params)

    async def multi_lang(self, params: MultiLangParams) -> SubmitManyResult:
        return await self._components(params)

    async def _components(self, params: DevelopParams | MultiLangParams) -> SubmitManyResult:
        folder = self._host.folder(params.folder)
        self._limit_workers(folder, params.max_workers)
        # Every field but these names a component and its agent.
        assignments = params.model_dump(exclude={"folder", "prompt", "max_workers"})
        chosen = {name.replace("_", "-"): agent for name, agent in assignments.items() if agent}
        develop = isinstance(params, DevelopParams)
        defaults = DEVELOP_COMPONENTS if develop else MULTI_LANG_COMPONENTS
        tasks = component_tasks(chosen, defaults, folder.manager.settings, params.prompt,
                                unique_ids=True)
        return SubmitManyResult(task_ids=await self._submit(folder, tasks))

    async def plan(self, params: PlanParams) -> PlanResult:
        folder = self._host.folder(params.folder)
        plan = await plan_with_yui(params.prompt, folder.root, folder.manager.settings,
                                   agents=params.agents, max_workers=params.max_workers)
        return PlanResult(plan=SubmitPlanParams(tasks=plan.tasks, max_workers=plan.max_workers))

    async def refactor(self, params: RefactorParams) -> SubmitManyResult:
        folder = self._host.folder(params.folder)
        self._limit_workers(folder, params.max_workers)
        spec = RefactorSpec(pattern=params.pattern, replacement=params.replacement,
                            regex=params.regex, files=params.files)

        def find() -> list[str]:
            check_inside(Task(title="refactor", refactor=spec), folder.root)
            return files_to_refactor(folder.root, spec.files, spec)

        files = await anyio.to_thread.run_sync(find)
        if not files:
            raise PlanError(f"no file matching {', '.join(spec.files)} contains {spec.pattern!r}")
        tasks = refactor_tasks(files, spec, folder.manager.max_workers, agent="refactor",
                               id_prefix=new_task_id("refactor"))
        return SubmitManyResult(task_ids=await self._submit(folder, tasks))

    # ----------------------------------------------------------------- control

    async def cancel_task(self, params: TaskIdParams) -> OkResult:
        try:
            folder = self._host.folder_of_task(params.task_id)
        except UnknownTaskError:
            return await self._control_elsewhere("cancel", params.task_id)
        cancelled = await folder.manager.cancel(params.task_id)
        return OkResult(ok=cancelled, message="" if cancelled else "the task had already ended")

    async def retry_task(self, params: TaskIdParams) -> OkResult:
        try:
            folder = self._host.folder_of_task(params.task_id)
        except UnknownTaskError:
            return await self._control_elsewhere("retry", params.task_id)
        self._marks.discard(params.task_id)
        await folder.manager.retry(params.task_id)
        return OkResult(ok=True)

    async def _control_elsewhere(self, op: str, task_id: str) -> OkResult:
        """A task of another coordinator on one of our folders (the CLI, another window)."""
        for folder in list(self._host.folders.values()):
            try:
                answer = await control(folder.root, op, task_id)
            except UnknownTaskError:
                continue
            return OkResult(ok=bool(answer.get("cancelled", answer.get("ok", False))),
                            message="handled by another coordinator")
        raise UnknownTaskError(task_id)

    # ----------------------------------------------------------------- lists

    async def list_tasks(self, params: TaskListParams) -> WireJson:
        folders = [self._host.folder(params.folder)] if params.folder else \
            list(self._host.folders.values())
        tasks: list[TaskInfo] = []
        for folder in folders:
            tasks += folder.manager.tasks()
            own_id = folder.manager.coordinator_id
            # Reading the task tables costs a parse per task: skip it when we are alone
            # (the relay looks twice a second: server/relay.py).
            if folder.others:
                listed = await anyio.to_thread.run_sync(all_tasks, folder.root)
                tasks += [t for t in listed if t.coordinator_id != own_id]
            if params.history:
                shown = {t.task.id for t in tasks}
                recent = await anyio.to_thread.run_sync(recent_tasks, folder.root,
                                                        params.history)
                tasks += [t for t in recent if t.task.id not in shown]
        # Built from cached JSON entries, not through TaskListResult: see listing.py.
        return WireJson(self._listing.answer(self.review.visible(tasks), params))

    async def doctor(self, params: ListParams) -> DoctorResult:
        folders = [self._host.folder(params.folder)] if params.folder else \
            list(self._host.folders.values())
        return DoctorResult(reports=[await diagnose(folder.root) for folder in folders])

    async def list_locks(self, params: ListParams) -> EncodedJson:
        """A LockListResult: the table read now, shown first (so the ``yui/locksChanged``
        that follow apply to it), and encoded in a worker thread: thousands of leases are
        megabytes of JSON, too long for one step of the event loop."""
        folders = [self._host.folder(params.folder)] if params.folder else \
            list(self._host.folders.values())
        for folder in folders:
            await self._host.show_locks(folder, await folder.manager.lock_table())

        def encode() -> EncodedJson:
            return encode_records({}, "locks", [r for f in folders for r in f.leases.records()])

        return await anyio.to_thread.run_sync(encode)

    async def list_agents(self, params: ListParams) -> AgentListResult:
        settings = self._host.folder(params.folder).manager.settings
        return AgentListResult(agents=await anyio.to_thread.run_sync(list_agents, settings))

    # ----------------------------------------------------------------- specs

    async def list_specs(self, params: ListSpecsParams) -> SpecListResult:
        return await self.specs.list_specs(params)

    async def run_spec(self, params: RunSpecParams) -> RunSpecResult:
        folder, spec_plan = await self.specs.prepare(params)
        self._limit_workers(folder, params.max_workers)
        tasks = spec_plan.plan.tasks
        task_ids = await self._submit(folder, tasks) if tasks else []
        return self.specs.track(folder, spec_plan, task_ids)
