"""The shape Yui's planner asks its model for: plain fields, checked by yui afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class DraftTask(BaseModel):
    """One task as the model proposes it."""

    id: str = Field(description="Short unique kebab-case id, e.g. `users-api`.")
    title: str = Field(description="What the task does, in a few words.")
    agent: str = Field(description="Which agent does it: one of the agents you were given.")
    prompt: str = Field(
        description="Complete instructions for that agent: what to change, where, and how to "
        "check it. The agent sees only this and the repository."
    )
    claims: list[str] = Field(
        description="Repository-relative paths or globs (`src/api/**`) of every file the task "
        "will create or change; tasks running at the same time must not overlap."
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of tasks whose result this task needs first."
    )


class PlanDraft(BaseModel):
    """A plan as the model proposes it."""

    tasks: list[DraftTask] = Field(description="The tasks, in a sensible order.")


@dataclass
class PlanRequest:
    """What the planner is asked: the request and what grounds it."""

    prompt: str
    #: Repository-relative files that exist (a bounded sample of the repository).
    files: list[str] = field(default_factory=list)
    #: Agents the plan may use (first = the default choice).
    agents: list[str] = field(default_factory=lambda: ["yui"])
    #: How many more files the repository has than ``files`` lists.
    files_omitted: int = 0

    def user_prompt(self) -> str:
        """The request with its grounding, as the model reads it."""
        listing = "\n".join(self.files) or "(no files yet)"
        more = f"\n... and {self.files_omitted} more files" if self.files_omitted else ""
        return (
            f"Request:\n{self.prompt.strip()}\n\n"
            f"Agents you may assign: {', '.join(self.agents)}\n\n"
            f"Files in the repository:\n{listing}{more}\n"
        )
