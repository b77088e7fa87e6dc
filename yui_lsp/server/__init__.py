"""The language server front end: the coordinator inside the editor (pygls).

Public face: :func:`create_server` and :class:`YuiLanguageServer` (imported lazily so that
``yui_lsp.server.main`` starts fast and ``--help`` needs no pygls import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yui_lsp.server.server import YuiLanguageServer, create_server

__all__ = ["YuiLanguageServer", "create_server"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from yui_lsp.server import server

        return getattr(server, name)
    raise AttributeError(f"module 'yui_lsp.server' has no attribute {name!r}")
