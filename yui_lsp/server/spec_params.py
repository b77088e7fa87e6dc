"""Arguments and results of the spec commands (`yui.listSpecs`, `yui.runSpec`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from yui_lsp.protocol import CamelModel
from yui_lsp.server.params import FolderParam


def _keys(value: object) -> object:
    return [part.strip() for part in value.split(",") if part.strip()] \
        if isinstance(value, str) else value


class ListSpecsParams(FolderParam):
    """`yui.listSpecs`: every spec of the workspace folder(s)."""


class SpecTaskSummary(CamelModel):
    """One task of a spec's list."""

    key: str = Field(description="Its number in tasks.md: 2.1, 3, T004 ...")
    title: str
    line: int = Field(description="0-based line of its checkbox in tasks.md.")
    done: bool
    optional: bool = False
    parent: str | None = None


class SpecSummary(CamelModel):
    """A spec found in a workspace folder."""

    name: str
    format: Literal["kiro", "spec-kit"]
    path: str = Field(description="Its tasks.md, relative to the folder.")
    uri: str = Field(description="URI of its tasks.md.")
    folder: str = Field(description="URI of the workspace folder holding it.")
    done: int = Field(description="Tasks with work that are ticked.")
    total: int = Field(description="Tasks with work (a parent counts through its sub-tasks).")
    tasks: list[SpecTaskSummary] = Field(default_factory=list)


class SpecListResult(CamelModel):
    """Answer of `yui.listSpecs`."""

    specs: list[SpecSummary]


class RunSpecParams(FolderParam):
    """`yui.runSpec`: run a spec's unchecked tasks in parallel; boxes tick as results land."""

    spec: str = Field(min_length=1, description="Spec name, its folder, or its tasks.md "
                      "(path or URI).")
    agent: str = Field(default="kiro", description="Agent running each task.")
    only: Annotated[list[str], BeforeValidator(_keys)] = Field(
        default_factory=list, description="Only these tasks (keys, or a parent for its "
        "sub-tasks), e.g. [\"2.1\", \"3\"] or \"2.1,3\".")
    include_optional: bool = Field(default=False, description="Also run optional tasks.")
    max_workers: int | None = Field(default=None, ge=1, le=256,
                                    description="Run at most this many tasks at once.")


class RunSpecResult(CamelModel):
    """Answer of `yui.runSpec`: the tasks queued, in the spec's order."""

    task_ids: list[str]
    keys: list[str] = Field(description="The spec task key of each id, same order.")
    waves: int = Field(description="How many waves the run needs at most.")
    skipped: list[str] = Field(default_factory=list,
                               description="Keys left out and why, e.g. \"3.2: optional\".")
