"""``yui doctor``: the workspace's file system, flushing, locks, control socket, confinement."""

from __future__ import annotations

from pathlib import Path

import anyio
from rich.console import Console

from yui_lsp.coordinator.doctor import diagnose

_LABELS = (
    ("workspace", "workspace"), ("file_system", "file system"), ("mount_point", "mounted at"),
    ("flush", "durability"), ("locks", "file locks"), ("control_socket", "control socket"),
    ("confinement", "confinement"),
)


def doctor(root: Path, console: Console, json_mode: bool) -> int:
    """Print what yui found; exit 0 (a missing bubblewrap is reported, not an error)."""
    report = anyio.run(diagnose, root)
    if json_mode:
        print(report.model_dump_json())
        return 0
    data = report.model_dump()
    width = max(len(label) for _, label in _LABELS)
    for key, label in _LABELS:
        console.print(f"{label:<{width}}  {data[key]}", markup=False, highlight=False,
                      soft_wrap=True)
    return 0
