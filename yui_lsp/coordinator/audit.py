"""The audit trail: every bus message appended to ``.yui/audit.jsonl``, secrets redacted."""

from __future__ import annotations

import os
from pathlib import Path

from yui_lsp.protocol import Message
from yui_lsp.redact import redact


class AuditLog:
    """Append-only JSON-lines log of protocol messages (one ``write`` per line)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # O_APPEND keeps lines from several coordinators whole: each line is one write().
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def __call__(self, message: Message) -> None:
        line = redact(message.model_dump_json()) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
