"""Whether Yui's model is configured well enough to run, without importing pydantic-ai."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from yui_lsp.config import YuiModelConfig

#: How to configure the model, for the one-line errors.
CONFIGURE_HINT = (
    'set model (and provider, base_url, api_key_env) under [tool.yui.yui] in pyproject.toml '
    "or [yui] in .yui/config.toml; see docs/agents.md"
)
_DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
#: Space-separated URL prefixes of model servers the user trusts with code and keys. Only the
#: environment can name them: a repository's own config must not be able to send the user's
#: code and API key to a server of its choosing.
TRUSTED_URLS_ENV = "YUI_TRUSTED_MODEL_URLS"


def is_loopback(url: str) -> bool:
    """True for a server on this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _under(url: str, prefix: str) -> bool:
    # Same scheme and host:port exactly (a prefix of the text would let
    # https://trusted.example.com.evil.net through), then a path under the prefix's.
    got, want = urlsplit(url), urlsplit(prefix)
    if (got.scheme, got.netloc.lower()) != (want.scheme, want.netloc.lower()):
        return False
    base = want.path.rstrip("/")
    return got.path == base or got.path.startswith(base + "/") or not base


def untrusted_url(url: str | None, env: Mapping[str, str]) -> str | None:
    """Why yui will not talk to ``url`` (one line), or None (default endpoint, loopback, or
    listed in $YUI_TRUSTED_MODEL_URLS)."""
    if url is None or is_loopback(url):
        return None
    if any(_under(url, prefix) for prefix in env.get(TRUSTED_URLS_ENV, "").split()):
        return None
    return (
        f"the yui agent's base_url {url} is neither the provider's own endpoint nor a server "
        f"on this machine: list it in ${TRUSTED_URLS_ENV} to let yui send your code and API "
        "key there (a repository's configuration cannot)"
    )


def key_env_of(config: YuiModelConfig) -> str | None:
    """The environment variable holding the API key of ``config``'s provider, if any."""
    return config.api_key_env or _DEFAULT_KEY_ENV.get(config.provider)


def configuration_problem(config: YuiModelConfig | None, env: Mapping[str, str]) -> str | None:
    """Why Yui's model cannot be used as configured (one line), or None when it can."""
    if config is None or not config.model:
        return f"the yui agent has no model configured: {CONFIGURE_HINT}"
    distrust = untrusted_url(config.base_url, env)
    if distrust is not None:
        return distrust
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
