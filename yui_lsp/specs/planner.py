"""``--planner AGENT``: one headless run that reads the spec and answers with dependencies
and claims per task, as JSON that yui validates before anything runs.

A planner is anything with ``async propose(request) -> str | dict`` (:class:`SpecPlanner`):
Yui's own model (``yui_lsp.agents.yui.model_planner``) or the headless CLI agents here (kiro,
claude, codex, gemini, a ``command`` profile). A CLI agent runs in a scratch folder holding a
copy of the spec's documents (never in the workspace), told to write nothing and answer in
JSON; its time limits are any agent run's (:mod:`yui_lsp.agents.limits`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yui_lsp.agents.kinds import KINDS
from yui_lsp.config import AgentProfile, Settings
from yui_lsp.errors import PathOutsideWorkspaceError
from yui_lsp.protocol import Task
from yui_lsp.specs.depends import SpecError, restrict
from yui_lsp.specs.model import Edge, Spec
from yui_lsp.specs.plan import SpecPlan, build_plan

if TYPE_CHECKING:
    from yui_lsp.agents.base import AgentOutcome, AgentRun

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GLOB = re.compile(r"[*?\[]")
#: Tracked files listed in the planner's prompt, at most.
_FILES_SHOWN = 400


class PlannedTask(BaseModel):
    """The planner's word on one task of the list."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(description="The task's number in tasks.md: 2.1, 3, T004 ...")
    depends_on: list[str] = Field(default_factory=list)
    claims: list[str] = Field(default_factory=list)
    reason: str = ""


class PlannerAnswer(BaseModel):
    """What a planner answers: ``{"tasks": [{"id", "depends_on", "claims", "reason"}]}``."""

    model_config = ConfigDict(extra="ignore")
    tasks: list[PlannedTask]


@dataclass
class PlanRequest:
    """What a planner is asked about."""

    root: Path
    spec: Spec
    prompt: str


class SpecPlanner(Protocol):
    """Reads a spec, answers with dependencies and claims (JSON text or the parsed dict)."""

    name: str

    async def propose(self, request: PlanRequest) -> str | dict[str, Any]: ...


def planner_prompt(root: Path, spec: Spec, files: list[str]) -> str:
    keys = ", ".join(t.key for t in spec.tasks if t.has_work and not t.done)
    listing = "\n".join(files[:_FILES_SHOWN])
    tasks_md = (spec.folder / "tasks.md").read_text(encoding="utf-8", errors="replace")
    return (
        f"You plan the parallel execution of the task list of the spec {spec.name!r}. "
        "Do not change any file. For each task id below, say which tasks must be finished "
        "before it starts (depends_on) and which workspace files or globs it will change "
        "(claims, relative paths like src/api/**). Tasks whose claims overlap never run at "
        "the same time, so claim precisely.\n"
        f"Task ids: {keys}\n\n"
        "Answer with one JSON object and nothing else:\n"
        '{"tasks": [{"id": "2.1", "depends_on": ["1.2"], "claims": ["src/x.py"], '
        '"reason": "uses the model from 1.2"}]}\n\n'
        f"tasks.md:\n{tasks_md}\n\nFiles in the repository:\n{listing}\n")


def extract_json(text: str) -> dict[str, Any]:
    """The last JSON object in an agent's narration."""
    text = _ANSI.sub("", text)
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "tasks" in value:
            found = value
    if found is None:
        raise SpecError("the planner's answer holds no JSON object with \"tasks\"; run "
                        "without --planner or try another planner agent")
    return found


def validate_answer(raw: str | dict[str, Any], spec: Spec, root: Path) -> PlannerAnswer:
    """The answer, checked: known ids, claims inside the workspace (cycles: in planned)."""
    data = raw if isinstance(raw, dict) else extract_json(raw)
    try:
        answer = PlannerAnswer.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise SpecError(f"the planner's answer is malformed at {where}: {err['msg']}") from None
    known = {t.key for t in spec.tasks}
    for item in answer.tasks:
        for ref in [item.id, *item.depends_on]:
            if ref not in known:
                raise SpecError(f"the planner named task {ref!r}, which is not in "
                                f"{spec.tasks_rel}; nothing was run")
        for claim in item.claims:
            _check_claim(root, claim)
    return answer


def _check_claim(root: Path, claim: str) -> None:
    parts = claim.replace("\\", "/").split("/")
    if not claim or claim.startswith("/") or ".." in parts:
        raise SpecError(f"the planner claimed {claim!r}, outside the workspace; nothing was run")
    fixed = "/".join(p for p in parts[: next((i for i, p in enumerate(parts)
                                              if _GLOB.search(p)), len(parts))])
    if not fixed:
        return
    real_root = os.path.realpath(root)
    real = os.path.realpath(root / fixed)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise PathOutsideWorkspaceError(claim, str(root))


async def planned(planner: SpecPlanner, root: Path, spec: Spec,
                  options: dict[str, Any]) -> SpecPlan:
    """The spec's plan with the planner's dependencies and claims added (validated)."""
    files = await anyio.to_thread.run_sync(_tracked_files, root)
    request = PlanRequest(root=root, spec=spec, prompt=planner_prompt(root, spec, files))
    answer = validate_answer(await planner.propose(request), spec, root)
    claims = {item.id: item.claims for item in answer.tasks}
    edges = [Edge(item.id, dep, f"planner: {item.reason or 'needs ' + dep}")
             for item in answer.tasks for dep in item.depends_on]
    done = {t.key for t in spec.tasks if t.done}
    _refuse_cycles(restrict(edges, {t.key for t in spec.tasks}, done))
    spec_plan = build_plan(root, spec, extra_claims=claims, extra_edges=edges, **options)
    return spec_plan


def _refuse_cycles(edges: list[Edge]) -> None:
    graph: dict[str, list[str]] = {}
    for edge in edges:
        graph.setdefault(edge.task, []).append(edge.after)
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt] if nxt in path else [node, nxt]
                raise SpecError("the planner's dependencies are refused: they form a cycle "
                                + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in list(graph):
        if start not in state:
            visit(start, [start])


def _tracked_files(root: Path) -> list[str]:
    try:
        done = subprocess.run(["git", "-c", "core.fsmonitor=false", "ls-files", "-z"],
                              cwd=root, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [p for p in done.stdout.decode("utf-8", "replace").split("\0") if p]


# --------------------------------------------------------------------------- headless CLIs


def _argv(kind: str, command: list[str], profile: AgentProfile, prompt: str) -> list[str]:
    if kind == "kiro":
        agent = ["--agent", profile.agent_name] if profile.agent_name else []
        return [*command, "chat", "--no-interactive", "--trust-all-tools", *agent,
                *profile.args, prompt]
    if kind in ("claude", "gemini"):
        return [*command, "-p", prompt, *profile.args]
    if kind == "codex":
        return [*command, "exec", *profile.args, prompt]
    return [*command, *profile.args, prompt]  # kind "command": prompt last


@dataclass
class HeadlessPlanner:
    """A CLI agent asked once, in a scratch folder with a copy of the spec's documents.

    The run is a task's run: ``agents.limits.limits_for`` decides its time limits from the
    profile and the settings (naming the setting to raise), ``run_limited`` enforces them,
    and its processes end with it."""

    name: str
    profile: AgentProfile
    settings: Settings

    async def propose(self, request: PlanRequest) -> str:
        from yui_lsp.agents.base import AgentRun
        from yui_lsp.agents.cli import command_of
        from yui_lsp.agents.limits import limits_for, run_limited

        task = Task(id="plan", title=f"plan of the spec {request.spec.name}",
                    agent=self.name, prompt=request.prompt)
        agent = _PlanningAgent(self.name, _argv(self.profile.kind, command_of(self.profile),
                                                self.profile, request.prompt))
        agent.check_available(self.profile)
        with tempfile.TemporaryDirectory(prefix="yui-planner-") as scratch:
            await anyio.to_thread.run_sync(_copy_docs, request, Path(scratch))
            run = AgentRun(task=task, workdir=Path(scratch), profile=self.profile,
                           agent_id=f"{self.name}_planner", emit=lambda _message: None,
                           workspace_root=request.root,
                           limits=limits_for(task, self.profile, self.settings))
            await run_limited(agent, run)
        return agent.answer


class _PlanningAgent:
    """The planner's CLI as an agent adapter: run once; its standard output is the answer."""

    kind = "command"

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.answer = ""

    def check_available(self, profile: AgentProfile) -> None:
        from yui_lsp.agents.cli import check_executable

        check_executable(profile)

    async def run(self, run: AgentRun) -> AgentOutcome:
        from yui_lsp.agents.base import AgentOutcome
        from yui_lsp.agents.runner import run_agent_process

        said: list[str] = []

        def keep(stream: str, line: str) -> None:
            if stream == "stdout":
                said.append(line)

        done = await run_agent_process(run, self.argv, on_line=keep)
        if done.exit_code != 0:
            tail = done.sink.last("stderr", 1)
            raise SpecError(f"the planner {self.name} failed (exit {done.exit_code})"
                            + (f": {tail}" if tail else ""))
        self.answer = "\n".join(said)
        return AgentOutcome()


def _copy_docs(request: PlanRequest, scratch: Path) -> None:
    target = scratch / request.spec.rel
    shutil.copytree(request.spec.folder, target, symlinks=True)
    steering = request.root / ".kiro" / "steering"
    if steering.is_dir():
        shutil.copytree(steering, scratch / ".kiro" / "steering", symlinks=True)


def planner_for(name: str, settings: Settings) -> SpecPlanner:
    """The planner called ``name``: Yui's model (kind ``yui``) or a headless CLI agent."""
    from yui_lsp.agents import resolve_profile

    profile = resolve_profile(name, settings)
    plans = KINDS[profile.kind].plans
    if plans == "model":
        from yui_lsp.agents.limits import limits_for
        from yui_lsp.agents.yui import model_planner

        plan = Task(id="plan", title="plan of a spec", agent=name, prompt="plan")
        return model_planner(profile, limits_for(plan, profile, settings))
    if plans == "headless":
        return HeadlessPlanner(name=name, profile=profile, settings=settings)
    can = [kind for kind, entry in KINDS.items() if entry.plans is not None]
    raise SpecError(f"--planner {name}: agent kind {profile.kind!r} cannot plan a spec here; "
                    f"use an agent of kind {', '.join(can)}")


__all__ = ["HeadlessPlanner", "PlanRequest", "PlannedTask", "PlannerAnswer", "SpecPlanner",
           "extract_json", "planned", "planner_for", "validate_answer"]
