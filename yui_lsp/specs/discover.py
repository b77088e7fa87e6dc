"""Finding specs in a workspace: ``.kiro/specs/NAME/tasks.md`` and ``specs/NAME/tasks.md``."""

from __future__ import annotations

from pathlib import Path

from yui_lsp.specs.depends import SpecError
from yui_lsp.specs.model import Spec, SpecFormat
from yui_lsp.specs.parse import decode, parse_tasks

#: (folder holding spec folders, format), in the order names are looked up.
LOCATIONS: tuple[tuple[str, SpecFormat], ...] = (
    (".kiro/specs", SpecFormat.KIRO),
    ("specs", SpecFormat.SPEC_KIT),
)


def read_spec(root: Path, folder: Path, fmt: SpecFormat) -> Spec:
    """The spec in ``folder`` with its tasks parsed (SpecError if tasks.md is unreadable)."""
    tasks_md = folder / "tasks.md"
    try:
        text = decode(tasks_md.read_bytes())
    except FileNotFoundError:
        raise SpecError(f"{folder} has no tasks.md (write the task list first)") from None
    except OSError as exc:
        raise SpecError(f"cannot read {tasks_md}: {exc.strerror}") from None
    try:
        rel = folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise SpecError(f"spec {folder} is outside the workspace {root}") from None
    return Spec(name=folder.name, format=fmt, folder=folder.resolve(), rel=rel,
                tasks=parse_tasks(text))


def find_specs(root: Path) -> list[Spec]:
    """Every spec with a tasks.md under the workspace, Kiro's first, by name."""
    found: list[Spec] = []
    for location, fmt in LOCATIONS:
        base = root / location
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir()):
            if (folder / "tasks.md").is_file():
                found.append(read_spec(root, folder, fmt))
    return found


def _format_of(root: Path, folder: Path) -> SpecFormat:
    parts = folder.resolve().relative_to(root.resolve()).parts
    return SpecFormat.KIRO if parts[:2] == (".kiro", "specs") else SpecFormat.SPEC_KIT


def load_spec(root: Path, name: str) -> Spec:
    """The spec called ``name``, or at the path ``name`` (its folder or its tasks.md)."""
    if "\0" in name:  # no path holds one: the file system calls would raise ValueError
        raise SpecError(f"no spec named {name!r}: a spec name or path has no NUL byte")
    for candidate in (Path(name), root / name):
        path = candidate.resolve()
        if path.is_file() and path.name == "tasks.md":
            path = path.parent
        if path.is_dir() and (path / "tasks.md").is_file():
            try:
                return read_spec(root, path, _format_of(root, path))
            except ValueError:
                raise SpecError(f"spec {name} is outside the workspace {root}") from None
    matches = [(root / location / name, fmt) for location, fmt in LOCATIONS
               if (root / location / name / "tasks.md").is_file()]
    if not matches:
        known = ", ".join(s.name for s in find_specs(root)) or "none"
        raise SpecError(f"no spec named {name!r} (specs here: {known}); give its name or "
                        "its folder")
    folder, fmt = matches[0]
    return read_spec(root, folder, fmt)
