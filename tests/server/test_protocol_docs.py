"""docs/protocol.md is what the models say today."""

from __future__ import annotations

from pathlib import Path

from yui_lsp.server.protocol_docs import COMMANDS, NOTIFICATIONS, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_committed_protocol_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/protocol.md is stale: run `python -m yui_lsp.server.protocol_docs "
        "docs/protocol.md`")


def test_every_registered_command_and_notification_is_documented() -> None:
    from yui_lsp.server.commands import Commands
    from yui_lsp.server.notifications import LOCKS_CHANGED, METHODS

    documented = {name for name, *_ in COMMANDS}
    registered = set(Commands.table_names())
    assert documented == registered
    methods = {method for method, *_ in NOTIFICATIONS}
    assert set(METHODS.values()) | {LOCKS_CHANGED, "yui/resultReady",
                                           "yui/resultApplied", "yui/taskLog"} == methods
