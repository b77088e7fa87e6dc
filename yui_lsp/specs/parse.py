"""Reading a tasks.md, Kiro's or spec-kit's, without ever losing a byte of it.

The parser is lenient: a line it does not understand is simply not a task. Text is decoded
with ``surrogateescape`` and split on ``\\n`` only, so positions found here are positions in
the user's file, and ticking a box (:func:`tick`) changes exactly one character.
"""

from __future__ import annotations

import re

from yui_lsp.specs.files import files_named
from yui_lsp.specs.model import SpecTask

#: A byte order mark some editors (on Windows) put before the first line: not part of it.
_BOM = "\ufeff?"
#: ``- [ ] ...``, ``* [x] ...``, ``1. [ ] ...``; Kiro's optional marker ``[ ]*``.
_CHECKBOX = re.compile(
    r"^" + _BOM + r"(?P<indent>[ \t]*)(?:[-*+]|\d+[.)])[ \t]+\[(?P<mark>[ xX~-])\]"
    r"(?P<star>\*)?[ \t]*(?P<rest>.*)$"
)
_KIRO_KEY = re.compile(r"^\**(?P<key>\d+(?:\.\d+)*)\.?\**[ \t]+(?P<title>.*)$")
_KIT_KEY = re.compile(r"^\**(?P<key>T\d+)\**[ \t]*(?P<title>.*)$")
_MARKER = re.compile(r"^\[(?P<tag>P|US\d+|[A-Za-z][\w-]{0,15})\][ \t]*")
_PHASE = re.compile(r"^" + _BOM + r"#{2,3}[ \t]+Phase\b[ \t]*(?P<title>.*)$", re.IGNORECASE)
_HEADING = re.compile(r"^" + _BOM + r"(?P<level>#{1,6})[ \t]+")
_REQUIREMENTS = re.compile(r"_?Requirements?:[ \t]*(?P<refs>[^_\n]+)_?", re.IGNORECASE)
_DEPENDS = re.compile(r"_?Depends(?:[ \t]+on)?:[ \t]*(?P<refs>[^_\n]+)_?", re.IGNORECASE)
_DEPENDS_INLINE = re.compile(r"\(depends on (?P<refs>[^)]+)\)", re.IGNORECASE)
_CHECKPOINT = re.compile(r"^\W*checkpoint\b", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(?:\.\d+)*$")
_REF = re.compile(r"\b(?:T\d+|\d+(?:\.\d+)*)\b")


def decode(data: bytes) -> str:
    """The file's text; undecodable bytes survive a round trip (surrogateescape)."""
    return data.decode("utf-8", errors="surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, without it (a ``\\r`` stays part of its line)."""
    return text.split("\n")


def _indent_width(indent: str) -> int:
    return len(indent.expandtabs(4))


def _clean(line: str) -> str:
    return line.rstrip("\r")


def parse_tasks(text: str) -> list[SpecTask]:
    """Every checkbox task of a tasks.md, in file order, with parents and details."""
    lines = split_lines(text)
    tasks: list[SpecTask] = []
    stack: list[SpecTask] = []  # open tasks by indentation
    phase, phase_title = 0, ""
    by_key: dict[str, SpecTask] = {}
    for index, raw in enumerate(lines):
        line = _clean(raw)
        heading = _HEADING.match(line)
        if heading:
            stack.clear()
            found = _PHASE.match(line)
            if found:
                phase += 1
                phase_title = line.lstrip("\ufeff#").strip()
            continue
        match = _CHECKBOX.match(line)
        if match is None:
            _continue_text(stack, line)
            continue
        indent = _indent_width(match["indent"])
        while stack and stack[-1].indent >= indent:
            stack.pop()
        task = _task_from(match, index, line, indent)
        task.phase, task.phase_title = phase, phase_title
        if task.key in by_key:  # a repeated number: keep both, tell them apart by line
            task.key = f"L{index + 1}"
        parent = _parent_of(task, stack, by_key)
        if parent is not None:
            task.parent = parent.key
            parent.children.append(task.key)
        by_key[task.key] = task
        tasks.append(task)
        stack.append(task)
    for task in tasks:
        _read_details(task)
    return tasks


def _parent_of(task: SpecTask, stack: list[SpecTask],
               by_key: dict[str, SpecTask]) -> SpecTask | None:
    """Numbers decide when they can (``2.3`` belongs to ``2`` however it is indented, and
    ``3`` belongs to nobody); indentation decides for the rest."""
    if _NUMBER.match(task.key):
        if "." not in task.key:
            return None
        numbered = by_key.get(task.key.rsplit(".", 1)[0])
        if numbered is not None:
            return numbered
    return stack[-1] if stack else None


def _task_from(match: re.Match[str], index: int, line: str, indent: int) -> SpecTask:
    rest = match["rest"]
    key, title, parallel, story = f"L{index + 1}", rest, False, ""
    if kiro := _KIRO_KEY.match(rest):
        key, title = kiro["key"], kiro["title"]
    elif kit := _KIT_KEY.match(rest):
        key, title = kit["key"], kit["title"]
        while marker := _MARKER.match(title):
            tag = marker["tag"]
            if tag == "P":
                parallel = True
            elif not story:
                story = tag
            title = title[marker.end():]
    optional = bool(match["star"]) or (title.rstrip().endswith("*")
                                       and not title.endswith("**"))
    title = title.strip().rstrip("*").strip() if optional else title.strip()
    return SpecTask(
        key=key,
        title=title,
        line=index,
        line_text=line,
        mark_col=match.start("mark"),
        done=match["mark"] in "xX",
        indent=indent,
        text=title,
        optional=optional,
        parallel=parallel,
        story=story,
        checkpoint=bool(_CHECKPOINT.match(title.replace("*", ""))),
    )


def _continue_text(stack: list[SpecTask], line: str) -> None:
    """A line under a task that is indented deeper belongs to it (blank lines too)."""
    if not stack:
        return
    owner = stack[-1]
    stripped = line.strip()
    if not stripped:
        owner.text += "\n"
        return
    if _indent_width(line[: len(line) - len(line.lstrip())]) <= owner.indent:
        stack.clear()  # a paragraph at the task's level ends the list item
        return
    owner.text += "\n" + stripped


def _read_details(task: SpecTask) -> None:
    task.text = task.text.strip("\n")
    task.text = re.sub(r"\n{3,}", "\n\n", task.text)
    task.files = files_named(task.text)
    for found in _REQUIREMENTS.finditer(task.text):
        task.requirements += [r for r in _refs(found["refs"]) if r not in task.requirements]
    for pattern in (_DEPENDS, _DEPENDS_INLINE):
        for found in pattern.finditer(task.text):
            task.depends += [r for r in _refs(found["refs"]) if r not in task.depends]


def _refs(text: str) -> list[str]:
    return _REF.findall(text)


def tick(text: str, task: SpecTask) -> str:
    """``text`` with ``task``'s box ticked: one character changed, nothing else."""
    lines = split_lines(text)
    line = lines[task.line]
    if _clean(line) != task.line_text:
        raise ValueError(f"line {task.line + 1} is no longer task {task.key}'s line")
    lines[task.line] = line[: task.mark_col] + "x" + line[task.mark_col + 1:]
    return "\n".join(lines)


def ticked_line(task: SpecTask) -> str:
    """The task's line as it reads once ticked."""
    line = task.line_text
    return line[: task.mark_col] + "x" + line[task.mark_col + 1:]
