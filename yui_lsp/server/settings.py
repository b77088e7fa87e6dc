"""Settings of a hosted folder: the project's ``[tool.yui]``, then the editor's overrides.

Overrides come from ``initializationOptions`` (either the settings object itself or one
nested under ``"yui"``) and from ``workspace/configuration`` section ``"yui"`` scoped to the
folder, the latter winning. Keys are Settings fields in either spelling (``maxWorkers``,
``applyMode``, ``agents`` ...). Invalid overrides are reported to the user and ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from yui_lsp.errors import ConfigError

if TYPE_CHECKING:
    from yui_lsp.config import Settings

log = logging.getLogger(__name__)

SECTION = "yui"
_MODEL_KEYS = frozenset({"model", "provider", "base_url", "baseUrl", "api_key_env", "apiKeyEnv"})
#: Longest wait for the client's workspace/configuration answer.
CONFIGURATION_TIMEOUT_S = 5.0


def overrides_from(raw: Any) -> dict[str, Any]:
    """The settings object inside initializationOptions / a configuration answer."""
    if not isinstance(raw, dict):
        return {}
    nested = raw.get(SECTION)
    # `yui` is also the settings key of Yui's model ({"model": ..., "baseUrl": ...}): that is
    # a setting, not the settings object nested under "yui".
    if isinstance(nested, dict) and not _MODEL_KEYS & set(nested):
        return dict(nested)
    return dict(raw)


class FolderSettings:
    """Computes each folder's Settings when its coordinator starts."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self.initialization_options: dict[str, Any] = {}

    def _supports_configuration(self) -> bool:
        workspace = self._server.client_capabilities.workspace
        return bool(workspace is not None and workspace.configuration)

    async def pull(self, uri: str) -> dict[str, Any]:
        """The client's ``yui`` configuration for one folder ({} when it has none)."""
        if not self._supports_configuration():
            return {}
        params = lsp.ConfigurationParams(items=[lsp.ConfigurationItem(scope_uri=uri,
                                                                      section=SECTION)])
        with anyio.move_on_after(CONFIGURATION_TIMEOUT_S):
            answer = await self._server.workspace_configuration_async(params)
            return overrides_from(answer[0] if answer else None)
        log.warning("client did not answer workspace/configuration for %s", uri)
        return {}

    async def __call__(self, uri: str, root: Path) -> Settings:
        from yui_lsp.config import Settings, load_settings  # not needed to answer initialize

        try:
            settings = await anyio.to_thread.run_sync(load_settings, root)
        except ConfigError as exc:
            self._warn(f"yui: using default settings for {root.name}: {exc}")
            settings = Settings()
        for source, overrides in (
            ("initializationOptions", overrides_from(self.initialization_options)),
            ("workspace/configuration", await self.pull(uri)),
        ):
            try:
                settings = settings.merged(overrides)
            except ConfigError as exc:
                self._warn(f"yui: ignoring {source} settings: {exc}")
        return settings

    def _warn(self, message: str) -> None:
        self._server.window_show_message(
            lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=message))
