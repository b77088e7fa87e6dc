"""The names of every ``workspace/executeCommand`` command the server offers.

Known before anything heavy is imported, so ``initialize`` can announce them while the
coordinator's modules are not loaded yet (see :mod:`yui_lsp.server.features`).
:mod:`yui_lsp.server.commands` checks at import that its tables name exactly these.
"""

from __future__ import annotations

COMMAND_NAMES: tuple[str, ...] = (
    "yui.submitTask", "yui.submitPlan", "yui.develop", "yui.multiLang", "yui.refactor",
    "yui.cancelTask", "yui.retryTask", "yui.listTasks", "yui.listLocks", "yui.listAgents",
    "yui.plan", "yui.doctor", "yui.listSpecs", "yui.runSpec",
    # review (server/review.py)
    "yui.applyResult", "yui.discardResult", "yui.showDiff", "yui.taskLog",
    "yui.resolveConflict", "yui.parseCommand", "yui.clearTasks",
)
