"""`yui`: run coding agents in parallel on one repository, from the terminal.

Every command is a thin layer over the coordinator: build tasks from the options, run them
with a view, exit 0 only when every task completed. Mistakes a user can make (a bad plan,
an unknown agent, a missing file) are one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# Start-up: argparse first, the rest only on the commands that need it (`yui --version` must
# not load pydantic, anyio or rich; tests/test_startup.py keeps it so).
from yui_lsp import __version__
from yui_lsp.coordinator import components
from yui_lsp.errors import PlanError, YuiError

from . import planner, spec

if TYPE_CHECKING:
    from rich.console import Console

    from yui_lsp.config import Settings
    from yui_lsp.protocol import Task

#: Exit code for a failure of yui itself (not the user's, not a task's).
EXIT_INTERNAL = 3
#: Exit code when the user interrupted the run (as cli/execute.py's EXIT_INTERRUPTED).
EXIT_INTERRUPTED = 130


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="repository to work on (default: current folder)")
    parser.add_argument("--json", action="store_true",
                        help="print protocol messages as JSON lines on stdout, nothing else")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")


def _runner(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=True,
                        help="run independent tasks at once (--no-parallel: one at a time)")
    parser.add_argument("--max-workers", type=int, metavar="N",
                        help="most tasks running at once (default: plan, then [tool.yui])")
    parser.add_argument("--dry-run", action="store_true",
                        help="show the tasks and the order they would run in; run nothing")
    parser.add_argument("--executor", choices=["local", "ray"],
                        help="where attempts run (default: [tool.yui] executor, else local)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="Ray cluster for --executor ray: auto, HOST:6379 or ray://HOST:10001")


def _work(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--prompt", default="", help="what to build, for every agent")
    group.add_argument("--spec", type=Path, metavar="FILE", help="read what to build from FILE")
    parser.add_argument("--plan", dest="use_planner", action="store_true",
                        help="let Yui's planner split the work (instead of the fixed parts)")


def build_parser() -> argparse.ArgumentParser:
    """The whole `yui` command line."""
    parser = argparse.ArgumentParser(
        prog="yui", description="Run several coding agents in parallel on one repository.",
    )
    parser.add_argument("--version", action="version", version=f"yui {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the tasks of a plan file (TOML)")
    run.add_argument("plan", type=Path, metavar="PLAN.toml")
    _runner(run)

    develop = sub.add_parser("develop", help="one agent per part of the project")
    for name in components.DEVELOP_COMPONENTS:
        # The seed spells the tests flag --testing; --tests stays as an alias.
        flags = ["--testing", "--tests"] if name == "tests" else [f"--{name}"]
        develop.add_argument(*flags, dest=name, metavar="AGENT", help=f"agent for the {name}")
    _work(develop)
    _runner(develop)

    multi = sub.add_parser("multi-lang", help="one agent per language of the project")
    for name in components.MULTI_LANG_COMPONENTS:
        multi.add_argument(f"--{name}", metavar="AGENT", help=f"agent for the {name} code")
    _work(multi)
    _runner(multi)

    refactor = sub.add_parser("refactor", help="replace text across files, split in tasks")
    refactor.add_argument("--pattern", required=True, help="text (or regex) to find")
    refactor.add_argument("--replacement", required=True, help="what to put instead")
    refactor.add_argument("--files", action="append", required=True, metavar="GLOB",
                          help="files to rewrite (repeatable), e.g. 'src/**/*.py'")
    refactor.add_argument("--regex", action="store_true", help="PATTERN is a Python regex")
    _runner(refactor)

    _runner(planner.add_parser(sub))
    spec.add_parser(sub, _common, _runner)

    demo = sub.add_parser("demo", help="run the bundled example project's plan")
    demo.add_argument("--into", type=Path, metavar="DIR",
                      help="copy the example here (default: a new temporary folder)")
    _runner(demo)

    status = sub.add_parser("status", help="live tasks on the repository, then recent ones")
    status.add_argument("--all", action="store_true", dest="show_all",
                        help="every task in the history, not only the last day's")
    status.add_argument("--since", metavar="WHEN",
                        help="ended tasks since WHEN: 30m, 2h, 7d or a date (2026-01-15)")
    _common(status)
    _common(sub.add_parser("locks", help="leased files: who holds what until when"))
    for name, text in (("cancel", "cancel a task (its agent's processes end)"),
                       ("retry", "run a failed or cancelled task again"),
                       ("undo", "revert the files an applied task wrote")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("task_id", metavar="ID")
        _common(cmd)
    logs = sub.add_parser("logs", help="a task's agent output")
    logs.add_argument("task_id", metavar="ID")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    _common(logs)
    _common(sub.add_parser("recover", help="finish or roll back interrupted applies"))
    _common(sub.add_parser("doctor", help="how yui works here: file system, flushes, "
                                          "locks, control socket, confinement"))
    sub.add_parser("lsp", help="start the language server (see `yui lsp --help`)",
                   add_help=False)
    return parser


# ---------------------------------------------------------------------------- commands


def _require_folder(root: Path) -> None:
    if not root.is_dir():
        raise YuiError(f"{root} is not a folder (give the repository with --root DIR)")


def _settings_for(root: Path) -> Settings:
    _require_folder(root)
    from yui_lsp.config import load_settings

    return load_settings(root)


def _read_work(args: argparse.Namespace) -> str:
    if args.spec is None:
        return str(args.prompt)
    try:
        return Path(args.spec).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot read --spec {args.spec}: {exc.strerror}") from None


def _tasks_for(
    args: argparse.Namespace, root: Path, settings: Settings
) -> tuple[list[Task], int | None]:
    """The tasks a run-type command asks for, and the plan's own worker count if any."""
    from yui_lsp.protocol import RefactorSpec

    from .plans import check_tasks, load_plan

    workers = args.max_workers or settings.max_workers
    if args.command == "run":
        plan = load_plan(args.plan)
        return plan.tasks, plan.max_workers
    if args.command == "plan":
        plan = planner.make_plan(args, root, settings)
        return plan.tasks, plan.max_workers
    if args.command in ("develop", "multi-lang"):
        defaults = (components.DEVELOP_COMPONENTS if args.command == "develop"
                    else components.MULTI_LANG_COMPONENTS)
        chosen = {name: getattr(args, name.replace("-", "_")) for name in defaults}
        chosen = {name: agent for name, agent in chosen.items() if agent}
        if args.use_planner:
            plan = planner.plan_components(args, root, settings, _read_work(args), chosen)
            return plan.tasks, plan.max_workers
        tasks = components.component_tasks(chosen, defaults, settings, _read_work(args))
        check_tasks(tasks, where=args.command)
        return tasks, None
    if not args.pattern:
        raise PlanError("--pattern is empty: give the text (with --regex, the regular "
                        "expression) to replace")
    spec = RefactorSpec(pattern=args.pattern, replacement=args.replacement, regex=args.regex)
    files = components.files_to_refactor(root, args.files, spec)
    return components.refactor_tasks(files, spec, 1 if not args.parallel else workers), None


def _print_dry_run(tasks: list[Task], workers: int, parallel: bool, json_mode: bool,
                   console: Console) -> None:
    from yui_lsp.wording import plural

    from .plans import claim_waits, waves

    order = waves(tasks)
    if json_mode:
        waits = {k: v for wave in order
                 for k, v in claim_waits([t for t in tasks if t.id in wave]).items() if v}
        payload = {"waves": order, "max_workers": workers if parallel else 1,
                   "claim_waits": waits,
                   "tasks": [t.model_dump(mode="json", exclude_defaults=True) for t in tasks]}
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    by_id = {t.id: t for t in tasks}
    mode = f"up to {workers} at once" if parallel else "one at a time"
    console.print(f"{plural(len(tasks), 'task')} in {plural(len(order), 'wave')} ({mode}); "
                  "nothing will run", highlight=False)
    for number, wave in enumerate(order, start=1):
        console.print(f"wave {number}:", style="bold", highlight=False)
        waits = claim_waits([by_id[i] for i in wave])
        for task_id in wave:
            task = by_id[task_id]
            claims = ", ".join(task.claims[:4]) + (" …" if len(task.claims) > 4 else "")
            after = f"  after {', '.join(task.depends_on)}" if task.depends_on else ""
            if waits.get(task_id):
                after += f"  waits for {', '.join(waits[task_id])} (claims overlap)"
            console.print(f"  {task_id} [{task.agent}] claims {claims or 'nothing'}{after}",
                          markup=False, highlight=False)


def _route_logs(root: Path | None, debug: bool) -> None:
    """Library log records go to ``.yui/logs/yui.log`` (or stderr with --debug), so an
    internal hiccup never prints a traceback over the live view."""
    import logging

    package_log = logging.getLogger("yui_lsp")
    package_log.propagate = False
    if debug:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        package_log.setLevel(logging.DEBUG)
    elif root is not None and root.is_dir():
        from yui_lsp.workspace.statedir import open_log, private_dir

        # Owner-only whatever the umask; a symlink or a folder in the log's place is refused.
        log_file = private_dir(private_dir(root / ".yui") / "logs") / "yui.log"
        handler = logging.StreamHandler(open_log(log_file))
        package_log.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s "
                                           "%(message)s"))
    package_log.addHandler(handler)


def _run_command(args: argparse.Namespace, console: Console) -> int:
    root = (args.root or Path.cwd()).resolve()
    if args.command == "demo":
        from .demo_setup import prepare_demo

        root, plan_path = prepare_demo(args.into)
        args.plan = plan_path
        args.command = "run"
        if not args.json:
            console.print(f"example project copied to {root}", highlight=False)
    if args.max_workers is not None and args.max_workers < 1:
        raise YuiError("--max-workers must be at least 1")
    settings = _settings_for(root).merged(
        {"executor": args.executor, "ray_address": args.ray_address})
    tasks, plan_workers = _tasks_for(args, root, settings)
    workers = args.max_workers or plan_workers or settings.max_workers
    if not tasks:
        if not args.json:
            console.print("nothing to do: no files match", highlight=False)
        return 0
    if args.dry_run:
        _print_dry_run(tasks, workers, args.parallel, args.json, console)
        return 0
    outcome_code = _run_tasks(tasks, root, settings, workers, args, console)
    if not args.json and _is_demo(args):
        console.print(f"done: the result is in {root} (`git -C {root} diff` shows what changed)",
                      highlight=False, soft_wrap=True)
    return outcome_code


def _run_tasks(tasks: list[Task], root: Path, settings: Settings, workers: int | None,
               args: argparse.Namespace, console: Console) -> int:
    """Run ``tasks`` to the end with the live view (or JSON lines); the exit code."""
    import anyio

    from .execute import RunOptions, run_tasks
    from .view import make_view

    _route_logs(root, args.debug)
    options = RunOptions(root=root, settings=settings, max_workers=workers,
                         sequential=not getattr(args, "parallel", True))
    view = make_view(args.json, console)
    outcome = anyio.run(run_tasks, tasks, options, view)
    if not args.json and outcome.interrupted:
        console.print("interrupted", highlight=False)
    return outcome.exit_code


def _is_demo(args: argparse.Namespace) -> bool:
    return hasattr(args, "into")


def _runs_spec(args: argparse.Namespace) -> bool:
    """`yui develop --spec FOLDER` (or its tasks.md) with no component flags runs that spec's
    task list."""
    if args.command != "develop" or args.spec is None:
        return False
    spec = Path(args.spec)
    if not spec.is_dir() and not (spec.name == "tasks.md" and spec.is_file()):
        return False
    return not any(getattr(args, n.replace("-", "_")) for n in components.DEVELOP_COMPONENTS)


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    if _runs_spec(args):
        args.command, args.spec_command, args.name = "spec", "run", str(args.spec)
        args.agent, args.only, args.include_optional, args.planner = "kiro", None, False, None
    if args.command == "plan" and not args.run:
        root = (args.root or Path.cwd()).resolve()
        plan = planner.make_plan(args, root, _settings_for(root))
        return planner.show_plan(args, plan, console)
    if args.command in ("run", "develop", "multi-lang", "refactor", "demo", "plan"):
        return _run_command(args, console)
    root = (args.root or Path.cwd()).resolve()
    if args.command in ("status", "locks"):
        return _glance(args, root, console)
    from . import inspect

    if args.command == "spec":
        settings = _settings_for(root)
        _route_logs(root if getattr(args, "spec_command", None) == "run" else None, args.debug)
        return spec.dispatch(args, root, settings, console)
    _settings_for(root)
    _route_logs(None, args.debug)
    if args.command == "retry":
        task = inspect.retry_or_earlier(root, console, args.task_id)
        if task is None:
            return 0
        return _run_tasks([task], root, _settings_for(root), None, args, console)
    if args.command == "cancel":
        return inspect.steer(root, console, args.command, args.task_id)
    if args.command == "logs":
        return inspect.logs(root, args.task_id, args.follow)
    if args.command == "undo":
        return inspect.undo(root, console, args.task_id)
    if args.command == "recover":
        return inspect.recover(root, console)
    if args.command == "doctor":
        from yui_lsp.cli.doctor import doctor

        return doctor(root, console, args.json)
    raise AssertionError(f"unhandled command {args.command}")


def _glance(args: argparse.Namespace, root: Path, console: Console) -> int:
    """`yui status` / `yui locks`: read-only, and quick (no configuration, no pydantic)."""
    from . import status

    _require_folder(root)
    if args.command == "locks":
        return status.locks(root, console, args.json)
    since = status.parse_since(args.since) if args.since else None
    return status.status(root, console, args.json, show_all=args.show_all, since=since)


def _first_user_error(exc: BaseException) -> YuiError | None:
    """The YuiError inside ``exc`` (task groups wrap what their bodies raise), or yui's
    state in the way (a full disk, a folder where a file belongs): the user's to fix."""
    from yui_lsp.workspace.statefault import first_user_error

    return first_user_error(exc)


def _lsp(argv: Sequence[str]) -> int:
    # Imported only here: the language server's dependencies are not needed by other commands.
    server = importlib.import_module("yui_lsp.server.main")
    result = server.main(list(argv))
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `yui` console script; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["lsp"]:
        return _lsp(arguments[1:])  # the server caps malloc arenas itself
    args = build_parser().parse_args(arguments)  # --version and --help end here
    from yui_lsp.runtime import limit_malloc_arenas

    limit_malloc_arenas()
    from rich.console import Console

    console = Console(stderr=bool(getattr(args, "json", False)), highlight=False)
    try:
        return _dispatch(args, console)
    except KeyboardInterrupt:
        print("yui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        user_error = _first_user_error(exc)
        if user_error is not None:
            print(f"yui: error: {user_error}", file=sys.stderr)
            return user_error.exit_code
        if getattr(args, "debug", False) or not isinstance(exc, Exception | BaseExceptionGroup):
            raise
        print(f"yui: internal error: {exc!r} (rerun with --debug to see the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
