"""Whether Yui's model is configured well enough to run, without importing pydantic-ai."""

from __future__ import annotations

from collections.abc import Mapping

from yui_lsp.config import YuiModelConfig

#: How to configure the model, for the one-line errors.
CONFIGURE_HINT = (
    'set model (and provider, base_url, api_key_env) under [tool.yui.yui] in pyproject.toml '
    "or [yui] in .yui/config.toml; see docs/agents.md"
)
_DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def key_env_of(config: YuiModelConfig) -> str | None:
    """The environment variable holding the API key of ``config``'s provider, if any."""
    return config.api_key_env or _DEFAULT_KEY_ENV.get(config.provider)


def configuration_problem(config: YuiModelConfig | None, env: Mapping[str, str]) -> str | None:
    """Why Yui's model cannot be used as configured (one line), or None when it can."""
    if config is None or not config.model:
        return f"the yui agent has no model configured: {CONFIGURE_HINT}"
    key_env = key_env_of(config)
    # A local OpenAI-compatible server (Ollama, vLLM) usually needs no key at all.
    needs_key = config.provider == "anthropic" or (
        config.provider == "openai" and (config.base_url is None or config.api_key_env)
    )
    if key_env and needs_key and not env.get(key_env):
        return (
            f"the yui agent's model {config.model!r} needs an API key in ${key_env}, which is "
            f"not set (export it, or name another variable with api_key_env under [tool.yui.yui])"
        )
    return None
