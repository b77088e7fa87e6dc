"""Spec task lists: Kiro's ``.kiro/specs/NAME/tasks.md`` and spec-kit's ``specs/NAME/tasks.md``.

Read them leniently, infer dependencies and claims, build a :class:`~yui_lsp.protocol.Plan`
whose tasks carry their checkbox tick as a line edit. Knows nothing of the coordinator.
"""

from yui_lsp.specs.depends import EVERYTHING, SpecError, infer_edges
from yui_lsp.specs.discover import find_specs, load_spec
from yui_lsp.specs.model import Edge, Spec, SpecFormat, SpecTask
from yui_lsp.specs.parse import parse_tasks, tick
from yui_lsp.specs.plan import SpecPlan, build_plan, parse_only, task_id

__all__ = [
    "EVERYTHING",
    "Edge",
    "Spec",
    "SpecError",
    "SpecFormat",
    "SpecPlan",
    "SpecTask",
    "build_plan",
    "find_specs",
    "infer_edges",
    "load_spec",
    "parse_only",
    "parse_tasks",
    "task_id",
    "tick",
]
