"""`yui spec`: list the specs of the repository, run one's task list, or save it as a plan."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from yui_lsp.errors import YuiError

if TYPE_CHECKING:  # the parser is built for every `yui` command: the rest comes when used
    from rich.console import Console

    from yui_lsp.config import Settings
    from yui_lsp.specs import SpecPlan


def _say(console: Console, text: str, style: str | None = None) -> None:
    """One line as written: no markup, no wrapping (paths and titles stay greppable)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: object, runner: object) -> None:
    """`yui spec [run NAME | plan NAME]` (``common``/``runner`` add the shared options)."""
    spec = sub.add_parser("spec", help="list specs (Kiro, spec-kit); run one's task list")
    assert callable(common) and callable(runner)
    common(spec)
    actions = spec.add_subparsers(dest="spec_command", metavar="ACTION")
    run = actions.add_parser("run", help="run the unchecked tasks of a spec in parallel")
    run.add_argument("name", metavar="NAME", help="spec name or folder")
    _selection(run)
    runner(run)
    plan = actions.add_parser("plan", help="save the spec's run as a plan file to edit")
    plan.add_argument("name", metavar="NAME", help="spec name or folder")
    plan.add_argument("-o", "--output", type=Path, metavar="PLAN.toml",
                      help="write the plan here (default: print it)")
    plan.add_argument("--max-workers", type=int, metavar="N", help="workers written in the plan")
    _selection(plan)
    common(plan)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", default="kiro", help="agent running each task (default kiro)")
    parser.add_argument("--only", metavar="KEYS", help="only these tasks, e.g. 2.1,3 or T004")
    parser.add_argument("--include-optional", action="store_true",
                        help="also run optional tasks (Kiro `- [ ]*`)")
    parser.add_argument("--planner", metavar="AGENT",
                        help="ask AGENT (one headless run) for dependencies and claims")


def list_specs(root: Path, console: Console, json_mode: bool) -> int:
    from yui_lsp.specs import find_specs

    specs = find_specs(root)
    if json_mode:
        for spec in specs:
            sys.stdout.write(json.dumps({"name": spec.name, "format": str(spec.format),
                                         "path": spec.tasks_rel, "done": spec.done_count,
                                         "total": len(spec.counted)}) + "\n")
        return 0
    if not specs:
        _say(console, "no specs here (.kiro/specs/NAME/tasks.md or specs/NAME/tasks.md)")
        return 0
    for spec in specs:
        _say(console, f"{spec.name:<30} {spec.format!s:<9} {spec.done_count}/{len(spec.counted)}"
                      f" done  {spec.tasks_rel}")
    return 0


def plan_for(args: argparse.Namespace, root: Path, settings: Settings,
             console: Console) -> SpecPlan:
    """The spec run the options ask for, with the planner's answer when one is named."""
    import anyio

    from yui_lsp.specs import build_plan, load_spec, parse_only
    from yui_lsp.specs.planner import planned, planner_for

    from .plans import check_tasks

    spec = load_spec(root, args.name)
    options = {"agent": args.agent, "only": parse_only(args.only),
               "include_optional": args.include_optional,
               "max_workers": args.max_workers}
    if args.planner:
        planner = planner_for(args.planner, settings)
        if not args.json:
            _say(console, f"asking {args.planner} for dependencies and claims…")
        spec_plan = anyio.run(planned, planner, root, spec, options)
        if not args.json:
            _show_planner(spec_plan, console)
    else:
        spec_plan = build_plan(root, spec, **options)
    check_tasks(spec_plan.plan.tasks, where=spec.tasks_rel)
    return spec_plan


def _show_planner(spec_plan: SpecPlan, console: Console) -> None:
    """What the planner added, before anything runs."""
    from yui_lsp.specs import EVERYTHING

    for edge in spec_plan.edges:
        if edge.reason.startswith("planner:"):
            _say(console, f"  {edge.task} after {edge.after} ({edge.reason})")
    for task in spec_plan.plan.tasks:
        item = spec_plan.spec.task(spec_plan.keys[task.id])
        named = item.files if item is not None else []
        added = [c for c in task.claims if c not in named]
        if added and added != [EVERYTHING]:
            _say(console, f"  {spec_plan.keys[task.id]} claims {', '.join(added)} (planner)")


def print_dry_run(spec_plan: SpecPlan, workers: int, json_mode: bool, console: Console) -> None:
    from .plans import waves

    tasks = spec_plan.plan.tasks
    order = waves(tasks)
    key = spec_plan.keys
    if json_mode:
        sys.stdout.write(json.dumps({
            "spec": spec_plan.spec.name, "max_workers": workers,
            "waves": [[key[t] for t in wave] for wave in order],
            "edges": [{"task": e.task, "after": e.after, "reason": e.reason}
                      for e in spec_plan.edges],
            "claims": {key[t.id]: t.claims for t in tasks},
            "skipped": [{"task": k, "reason": r} for k, r in spec_plan.skipped],
        }) + "\n")
        return
    _say(console, f"{spec_plan.spec.name}: {len(tasks)} tasks in {len(order)} waves (up to "
                  f"{workers} at once); nothing will run")
    by_key = {spec_plan.keys[t.id]: t for t in tasks}
    reasons: dict[str, list[str]] = {}
    for edge in spec_plan.edges:
        reasons.setdefault(edge.task, []).append(f"after {edge.after}: {edge.reason}")
    for number, wave in enumerate(order, start=1):
        _say(console, f"wave {number}:", style="bold")
        for task_id in wave:
            k = key[task_id]
            task = by_key[k]
            claims = ", ".join(task.claims[:4]) + (" …" if len(task.claims) > 4 else "")
            _say(console, f"  {task.title}  [claims {claims}]")
            for reason in reasons.get(k, []):
                _say(console, f"      {reason}")
    for k, why in spec_plan.skipped:
        _say(console, f"  skipped {k}: {why}")


def run_spec(args: argparse.Namespace, root: Path, settings: Settings, console: Console) -> int:
    import anyio

    from yui_lsp.specs import load_spec

    from .execute import RunOptions, run_tasks
    from .view import make_view

    if args.max_workers is not None and args.max_workers < 1:
        raise YuiError("--max-workers must be at least 1")
    spec_plan = plan_for(args, root, settings, console)
    workers = args.max_workers or settings.max_workers
    tasks = spec_plan.plan.tasks
    if args.dry_run:
        print_dry_run(spec_plan, workers, args.json, console)
        return 0
    if not tasks:
        if not args.json:
            _say(console, f"{spec_plan.spec.name}: nothing left to run "
                          f"({spec_plan.spec.done_count}/{len(spec_plan.spec.counted)} done)")
        return 0
    # Kiro CLI reads .kiro/steering and the spec itself: the sandbox has them even when
    # they are not committed.
    include = [*settings.sandbox_include, ".kiro/**"] if (root / ".kiro").is_dir() \
        else settings.sandbox_include
    options = RunOptions(root=root, settings=settings.model_copy(
        update={"sandbox_include": include}), max_workers=workers,
        sequential=not args.parallel)
    outcome = anyio.run(run_tasks, tasks, options, make_view(args.json, console))
    if not args.json:
        spec = load_spec(root, spec_plan.spec.folder.as_posix())
        _say(console, f"{spec.name}: {spec.done_count}/{len(spec.counted)} tasks done")
    return outcome.exit_code


def save_plan(args: argparse.Namespace, root: Path, settings: Settings,
              console: Console) -> int:
    from yui_lsp.protocol import Plan
    from yui_lsp.specs.tomlplan import plan_toml

    spec_plan = plan_for(args, root, settings, console)
    text = plan_toml(Plan(max_workers=args.max_workers, task=spec_plan.plan.tasks),
                     header=f"Plan of spec {spec_plan.spec.name} ({spec_plan.spec.tasks_rel}); "
                            "edit it, then `yui run` it.")
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise YuiError(f"cannot write {args.output}: {exc.strerror}") from None
    if not args.json:
        _say(console, f"wrote {len(spec_plan.plan.tasks)} tasks to {args.output} "
                      f"(run it with `yui run {args.output}`)")
    return 0


def dispatch(args: argparse.Namespace, root: Path, settings: Settings, console: Console) -> int:
    """`yui spec ...` once the repository and its settings are known."""
    command = getattr(args, "spec_command", None)
    if command == "run":
        return run_spec(args, root, settings, console)
    if command == "plan":
        return save_plan(args, root, settings, console)
    return list_specs(root, console, args.json)
