"""Writing a :class:`~yui_lsp.protocol.Plan` as the TOML plan file `yui run` reads."""

from __future__ import annotations

import json
from typing import Any

from yui_lsp.protocol import Plan


def _string(value: str) -> str:
    if "\n" in value and "'''" not in value and not value.endswith("'"):
        return f"'''\n{value}'''"
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} in a plan file")


def plan_toml(plan: Plan, header: str = "") -> str:
    """The plan as TOML; `load_plan` reads back the same plan."""
    lines = [f"# {header}", ""] if header else []
    if plan.max_workers is not None:
        lines += [f"max_workers = {plan.max_workers}", ""]
    for task in plan.tasks:
        data = task.model_dump(mode="json", exclude_defaults=True, by_alias=False)
        edits = data.pop("extra_edits", [])
        lines.append("[[task]]")
        for key, value in data.items():
            if value is None or isinstance(value, dict):
                continue
            lines.append(f"{key} = {_value(value)}")
        for edit in edits:
            lines.append("[[task.extra_edits]]")
            lines += [f"{key} = {_value(value)}" for key, value in edit.items()]
        lines.append("")
    return "\n".join(lines)
