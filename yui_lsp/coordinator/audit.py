"""The audit trail: every bus message appended to ``.yui/audit.jsonl``, secrets redacted."""

from __future__ import annotations

import os
from pathlib import Path

from yui_lsp.protocol import Message
from yui_lsp.redact import redact
from yui_lsp.workspace.statedir import open_private


class AuditLog:
    """Append-only JSON-lines log of protocol messages (one ``write`` per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # O_APPEND keeps lines from several coordinators whole: each line is one write().
        # Owner-only, and never through a symlink someone left there.
        self._fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def __call__(self, message: Message) -> None:
        line = redact(message.model_dump_json()) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
