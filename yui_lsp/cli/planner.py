"""`yui plan PROMPT`: Yui's planner from the terminal. The plan is validated, then written
for review (``-o FILE``, else printed), or run at once with ``--run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from yui_lsp.errors import YuiError

if TYPE_CHECKING:  # the parser is built for every `yui` command: nothing heavy at import
    from rich.console import Console

    from yui_lsp.config import Settings
    from yui_lsp.protocol import Plan


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The `plan` subcommand's own arguments (the run flags are added by the caller)."""
    plan = sub.add_parser("plan", help="ask Yui's model for a plan of tasks, to review or run")
    plan.add_argument("prompt", metavar="PROMPT", help="what to build")
    plan.add_argument("--agents", metavar="A,B", default=None,
                      help="agents the plan may use, comma-separated (default: yui and "
                      "the agents defined in [tool.yui.agents])")
    plan.add_argument("-o", "--output", type=Path, metavar="FILE",
                      help="write the plan here (default: print it)")
    plan.add_argument("--run", action="store_true", help="run the plan right away")
    return plan


def agents_of(text: str | None) -> list[str] | None:
    """``kiro,yui`` as a list (None: the default set)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise YuiError("--agents needs at least one agent name, e.g. --agents kiro,yui")
    return names


def make_plan(args: argparse.Namespace, root: Path, settings: Settings) -> Plan:
    """The validated plan for ``args.prompt``, written to ``args.output`` if given."""
    plan = _plan(args.prompt, root, settings, agents_of(args.agents), args.max_workers)
    if args.output is not None:
        from .plans import plan_to_toml

        try:
            args.output.write_text(plan_to_toml(plan), encoding="utf-8")
        except OSError as exc:
            raise YuiError(f"cannot write {args.output}: {exc.strerror}") from None
    return plan


def _plan(prompt: str, root: Path, settings: Settings, agents: list[str] | None,
          max_workers: int | None) -> Plan:
    import anyio

    from yui_lsp.coordinator.planning import plan_with_yui

    async def plan() -> Plan:
        return await plan_with_yui(prompt, root, settings, agents=agents,
                                   max_workers=max_workers)

    return anyio.run(plan)


def show_plan(args: argparse.Namespace, plan: Plan, console: Console) -> int:
    """Print the plan (TOML, or JSON with --json), or say where it was written."""
    if args.json:
        sys.stdout.write(plan.model_dump_json(exclude_defaults=True) + "\n")
        return 0
    if args.output is None:
        from .plans import plan_to_toml

        sys.stdout.write(plan_to_toml(plan))
        return 0
    console.print(f"{len(plan.tasks)} tasks planned in {args.output}; review it, then "
                  f"`yui run {args.output}`", highlight=False)
    return 0


def components_request(work: str, chosen: dict[str, str]) -> str:
    """The planner's request for `develop`/`multi-lang --plan`: the work, by component."""
    if not work.strip():
        raise YuiError("--plan needs to know what to build: pass --prompt TEXT or --spec FILE")
    parts = ", ".join(f"{name} (agent {agent})" for name, agent in chosen.items())
    return f"{work.strip()}\n\nSplit the work along these parts of the project: {parts}."


def plan_components(args: argparse.Namespace, root: Path, settings: Settings, work: str,
                    chosen: dict[str, str]) -> Plan:
    """`develop`/`multi-lang --plan`: the planner's tasks instead of the fixed globs."""
    agents = list(dict.fromkeys(chosen.values()))
    return _plan(components_request(work, chosen), root, settings, agents, args.max_workers)
