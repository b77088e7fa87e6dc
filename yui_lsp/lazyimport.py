"""Lazy public faces for packages: a name is imported from its module on first use.

``yui --version``, ``yui status`` and the language server's first answer must not pay for
every subsystem a package's ``__init__`` names (pydantic models, anyio, git plumbing).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, namespace: dict[str, Any],
            table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``table`` (name →
    module) when first asked for, and keeps it in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
