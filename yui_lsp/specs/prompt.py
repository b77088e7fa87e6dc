"""Each task's prompt: the task, its requirements' text, and where the rest of the spec is."""

from __future__ import annotations

import re
from pathlib import Path

from yui_lsp.specs.model import Spec, SpecFormat, SpecTask

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_NUMBERED = re.compile(r"^[ \t]*(\d+)[.)][ \t]+(.*)$")
_FR = re.compile(r"\b((?:FR|NFR|SC)-\d+)\b")
#: Documents pointed to (not pasted) when the spec folder has them.
_DOCS = ("requirements.md", "bugfix.md", "design.md", "spec.md", "plan.md", "research.md",
         "data-model.md", "quickstart.md", "contracts")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, body lines) of every markdown heading."""
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            found.append((match[2].strip(), []))
        elif found:
            found[-1][1].append(line)
    return found


def kiro_requirement(text: str, ref: str) -> str:
    """``1.2``: acceptance criterion 2 of "Requirement 1"; ``1``: the requirement's story."""
    number, _, criterion = ref.partition(".")
    sections = _sections(text)
    for index, (heading, body) in enumerate(sections):
        if not re.match(rf"^Requirement[ \t]+{re.escape(number)}\b", heading, re.IGNORECASE):
            continue
        # The criteria usually sit under a sub-heading ("Acceptance Criteria").
        lines = body + [line for _, more in sections[index + 1:index + 3] for line in more]
        if not criterion:
            story = next((ln.strip() for ln in body if "user story" in ln.lower()), "")
            return f"{heading}: {story}".strip(": ")
        for line in lines:
            item = _NUMBERED.match(line)
            if item and item[1] == criterion:
                return item[2].strip()
    return ""


def kit_story(text: str, story: str) -> str:
    number = story[2:] if story.upper().startswith("US") else ""
    for heading, body in _sections(text):
        if number and re.match(rf"^User Story {number}\b", heading, re.IGNORECASE):
            first = next((ln.strip() for ln in body if ln.strip()), "")
            return f"{heading}: {first}" if first else heading
    return ""


def kit_requirement(text: str, ref: str) -> str:
    for line in text.splitlines():
        if ref in line and re.search(rf"\*\*{ref}\*\*|^\s*-\s*{ref}\b", line):
            return line.strip().lstrip("-").strip()
    return ""


def resolved_requirements(spec: Spec, task: SpecTask) -> list[tuple[str, str]]:
    """(reference, its text) for every requirement the task names that can be found."""
    found: list[tuple[str, str]] = []
    if spec.format == SpecFormat.KIRO:
        text = _read(spec.folder / "requirements.md") or _read(spec.folder / "bugfix.md")
        found += [(ref, kiro_requirement(text, ref)) for ref in task.requirements]
    else:
        text = _read(spec.folder / "spec.md")
        if task.story:
            found.append((task.story, kit_story(text, task.story)))
        found += [(ref, kit_requirement(text, ref)) for ref in _FR.findall(task.text)]
    return [(ref, value) for ref, value in found if value]


def steering_files(root: Path) -> list[str]:
    folder = root / ".kiro" / "steering"
    if not folder.is_dir():
        return []
    return sorted(f".kiro/steering/{p.name}" for p in folder.iterdir() if p.suffix == ".md")


def task_prompt(root: Path, spec: Spec, task: SpecTask) -> str:
    """What the agent is told: this task only, with the context it needs to find."""
    details = task.text.split("\n", 1)[1].strip("\n") if "\n" in task.text else ""
    parts = [
        f"Implement task {task.key} of the spec {spec.name!r} ({spec.tasks_rel}).",
        "Do this task only: other tasks of the list are done separately, some of them at "
        f"the same time as this one. Do not edit {spec.tasks_rel}; its checkbox is ticked "
        "when your work lands.",
        "",
        f"Task {task.key}: {task.title}",
    ]
    if task.parent is not None and (parent := spec.task(task.parent)) is not None:
        parts.insert(4, f"Part of task {parent.key}: {parent.title}")
    if details:
        parts += ["", details]
    requirements = resolved_requirements(spec, task)
    if requirements:
        parts += ["", "Requirements it implements:"]
        parts += [f"- {ref}: {text}" for ref, text in requirements]
    docs = [f"{spec.rel}/{name}" for name in _DOCS if (spec.folder / name).exists()]
    if docs:
        parts += ["", "The spec's documents (read what you need): " + ", ".join(docs)]
    steering = steering_files(root)
    if steering:
        parts += ["Steering files (project conventions): " + ", ".join(steering)]
    if task.files:
        parts += ["Files this task names: " + ", ".join(task.files)]
    return "\n".join(parts) + "\n"
