"""The pydantic-ai model behind Yui, built from ``[tool.yui.yui]`` (see docs/agents.md).

``openai`` covers every server speaking the OpenAI chat-completions format (OpenAI itself,
Ollama, vLLM, llama.cpp, LiteLLM ...); ``anthropic`` the Messages API; ``bedrock`` the
Converse API through boto3. The API key is read from the environment variable the config
names, so no secret is ever written to a config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from yui_lsp.agents.yui.config_check import configuration_problem, key_env_of
from yui_lsp.config import YuiModelConfig
from yui_lsp.errors import AgentUnavailableError

_EXTRA = {"openai": "openai", "anthropic": "anthropic", "bedrock": "bedrock"}

def model_settings(config: YuiModelConfig) -> ModelSettings:
    """Per-request settings: the SDK's retries (429, 5xx) and a deadline per model call."""
    return ModelSettings(
        max_retries=config.max_retries, request_timeout=config.request_timeout_s,
    )


def build_model(config: YuiModelConfig, env: Mapping[str, str] | None = None) -> Model:
    """The pydantic-ai model for ``config``; AgentUnavailableError when it cannot be built."""
    env = os.environ if env is None else env
    problem = configuration_problem(config, env)
    if problem is not None:
        raise AgentUnavailableError(problem)
    assert config.model is not None
    key_env = key_env_of(config)
    api_key = env.get(key_env) if key_env else None
    try:
        if config.provider == "openai":
            return _openai(config.model, config.base_url, api_key)
        if config.provider == "anthropic":
            return _anthropic(config.model, config.base_url, api_key)
        return _bedrock(config.model, config.base_url, env)
    except ImportError as exc:
        extra = _EXTRA[config.provider]
        raise AgentUnavailableError(
            f"the {config.provider} provider of the yui agent is not installed ({exc}); "
            f"install it with: pip install 'pydantic-ai-slim[{extra}]'"
        ) from None


def _openai(model: str, base_url: str | None, api_key: str | None) -> Model:
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    # Local servers ignore the key, but the OpenAI client insists on having one.
    provider = OpenAIProvider(base_url=base_url, api_key=api_key or "not-needed")
    return OpenAIChatModel(model, provider=provider)


def _anthropic(model: str, base_url: str | None, api_key: str | None) -> Model:
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    return AnthropicModel(model, provider=AnthropicProvider(api_key=api_key, base_url=base_url))


def _bedrock(model: str, base_url: str | None, env: Mapping[str, str]) -> Model:
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.providers.bedrock import BedrockProvider

    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return BedrockConverseModel(
        model, provider=BedrockProvider(base_url=base_url, region_name=region)
    )
