"""Settings: ``[tool.yui]`` in ``pyproject.toml`` or ``.yui/config.toml`` (the latter wins).

Front ends may overlay more settings on top (LSP ``initializationOptions``, CLI flags) with
:meth:`Settings.merged`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from yui_lsp.agents.kinds import KIND_NAMES
from yui_lsp.errors import ConfigError
from yui_lsp.workspace.statedir import STATE_DIR_NAME, check_trusted

if TYPE_CHECKING:
    AgentKind = str
else:
    # The kinds' one list is agents/kinds.py; pydantic validates a profile's kind against it.
    AgentKind = Literal[KIND_NAMES]

#: How agent processes are confined (see docs/confinement.md): ``auto`` uses bubblewrap when
#: it is installed and works, ``required`` refuses to run an agent without it, ``off`` never.
ConfineMode = Literal["auto", "off", "required"]


class _Conf(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RayPlacement(_Conf):
    """What one attempt of an agent asks of a Ray cluster node (executor ``ray``)."""

    num_cpus: float = Field(default=1.0, ge=0, description="CPUs one attempt holds.")
    memory: int | None = Field(
        default=None, ge=0, description="Bytes of memory one attempt reserves."
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description='Custom node resources, e.g. {"kiro": 1} for nodes with kiro-cli signed in.',
    )


YuiProvider = Literal["openai", "anthropic", "bedrock"]


class YuiModelConfig(_Conf):
    """The model behind Yui's own worker and planner (``[tool.yui.yui]``; docs/agents.md)."""

    model: str | None = Field(
        default=None, description="Model name, e.g. gpt-4.1, claude-sonnet-4-5, qwen2.5-coder."
    )
    provider: YuiProvider = Field(
        default="openai",
        description="Wire format: openai (also any OpenAI-compatible server: Ollama, vLLM, "
        "llama.cpp), anthropic or bedrock.",
    )
    base_url: str | None = Field(default=None, description="Server URL (local or proxy).")
    api_key_env: str | None = Field(
        default=None,
        description="Environment variable holding the API key (default OPENAI_API_KEY / "
        "ANTHROPIC_API_KEY; Bedrock uses the AWS credential chain).",
    )
    max_turns: int = Field(default=40, ge=1, le=1000, description="Model requests per run.")
    token_budget: int | None = Field(
        default=500_000, ge=1000, description="Total tokens per run (None: no limit)."
    )
    request_timeout_s: float = Field(default=180.0, gt=0, description="Limit per model call.")
    max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a failed model call (429, 5xx)."
    )
    command_timeout_s: float = Field(default=300.0, gt=0, description="Limit per command.")
    output_cap_chars: int = Field(
        default=16_000, ge=1000, description="Most characters of one tool result."
    )
    input_price_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million input tokens (for cost_usd)."
    )
    output_price_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per million output tokens (for cost_usd)."
    )


class AgentProfile(_Conf):
    """How to run one named agent. Every built-in name can be redefined by the user."""

    kind: AgentKind = Field(description="Which adapter runs it.")
    command: list[str] | None = Field(
        default=None, description="Executable and fixed leading args; default per kind."
    )
    args: list[str] = Field(default_factory=list, description="Extra args after the defaults.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment.")
    timeout_s: float | None = Field(default=None, gt=0, description="Wall-clock limit per run.")
    idle_timeout_s: float | None = Field(
        default=None, gt=0, description="No output or file activity this long means hung."
    )
    max_concurrent: int | None = Field(
        default=None, ge=1, description="At most this many tasks of this agent at once."
    )
    model: str | None = Field(default=None, description="Model name passed to the CLI.")
    agent_name: str | None = Field(default=None, description="Kiro `--agent NAME`.")
    permission_policy: Literal["claims", "allow", "reject"] = Field(
        default="claims",
        description="ACP permission requests: allow edits inside the task's claims (claims), "
        "allow everything inside the sandbox (allow), or reject every request (reject).",
    )
    confine: ConfineMode | None = Field(
        default=None,
        description="OS-level confinement of this agent's process (auto, off, required); "
        "default: the `confine` setting.",
    )
    ray: RayPlacement | None = Field(
        default=None, description="Ray resources one attempt needs (executor ray)."
    )
    yui: YuiModelConfig | None = Field(
        default=None,
        description="Model of a `yui` agent; default: the [tool.yui.yui] settings.",
    )


class ComponentConfig(_Conf):
    """A part of the project that `yui develop` / `yui multi-lang` hands to one agent."""

    paths: list[str] = Field(default_factory=list, description="Claims (globs) of the component.")
    prompt: str | None = Field(default=None, description="Extra instructions for this part.")
    depends_on: list[str] = Field(default_factory=list, description="Other components first.")
    command: list[str] | None = Field(
        default=None, description="argv when the component's agent is the `shell`/`yui` worker."
    )


class Settings(_Conf):
    """All tunables. Defaults are what a user gets with no configuration at all."""

    max_workers: int = Field(default=4, ge=1, le=256)
    agents: dict[str, AgentProfile] = Field(default_factory=dict)
    components: dict[str, ComponentConfig] = Field(default_factory=dict)
    yui: YuiModelConfig = Field(
        default_factory=YuiModelConfig, description="Model of Yui's worker and planner."
    )
    # scheduling
    max_retries: int = Field(default=0, ge=0, le=10, description="Re-runs of a failed run.")
    retry_backoff_s: float = Field(default=0.5, ge=0)
    conflict_retries: int = Field(default=2, ge=0, le=10, description="Re-runs on a conflict.")
    default_timeout_s: float | None = Field(default=None, gt=0)
    default_idle_timeout_s: float = Field(default=300.0, gt=0)
    min_free_memory_mb: float = Field(default=256.0, ge=0)
    max_cpu_percent: float = Field(default=98.0, gt=0, le=100)
    # leases
    lease_ttl_s: float = Field(default=60.0, gt=0)
    lease_heartbeat_s: float = Field(default=15.0, gt=0)
    # sandboxes
    sandbox_dir: str | None = Field(default=None, description="Default: user cache dir.")
    sandbox_include: list[str] = Field(
        default_factory=lambda: [".env", ".env.*"],
        description="Untracked files copied into every sandbox.",
    )
    sandbox_pool_size: int = Field(default=4, ge=0)
    confine: ConfineMode = Field(
        default="auto",
        description="Agents run with the workspace read-only (bubblewrap): auto = when "
        "available, required = refuse to run agents without it, off = never.",
    )
    # where attempts run (docs/scale-out.md)
    executor: Literal["local", "ray"] = Field(
        default="local", description="local: sandboxes on this machine; ray: on a Ray cluster."
    )
    ray_address: str | None = Field(
        default=None,
        description='Ray cluster to use with executor ray: "auto", "host:6379" or '
        '"ray://host:10001"; default auto.',
    )
    # apply
    apply_mode: Literal["auto", "review"] = "auto"
    save_after_apply: Literal["clean", "never", "always"] = Field(
        default="clean",
        description="Editor: save documents after a result lands: clean = those that had no "
        "unsaved changes (or were closed), never, always.",
    )
    backup_retention: int = Field(default=50, ge=0, description="Applied tasks kept for undo.")
    task_retention: int = Field(
        default=1000, ge=1, description="Ended tasks a coordinator keeps in memory for results."
    )
    history_days: float = Field(
        default=30.0, gt=0, description="Days a task stays in the history (.yui/history.sqlite3)."
    )
    history_max_tasks: int = Field(
        default=5000, ge=1, description="At most this many tasks are kept in the history."
    )
    # logs
    output_line_max: int = Field(default=4000, ge=80)
    log_max_bytes: int = Field(default=5_000_000, ge=1000)

    def merged(self, overrides: dict[str, Any]) -> Settings:
        """These settings with ``overrides`` (either name spelling) laid on top."""
        data = self.model_dump(by_alias=False)
        clean = {k: v for k, v in overrides.items() if v is not None}
        try:
            return Settings.model_validate({**data, **_normalise(clean)})
        except ValidationError as exc:
            raise ConfigError(_first_error("settings", exc)) from None


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = Settings.model_fields
    by_alias = {to_camel(name): name for name in fields}
    for key, value in data.items():
        name = by_alias.get(key, key.replace("-", "_"))
        out[name] = value
    return out


def _first_error(where: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"invalid {where}: {loc}: {err['msg']}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: editors on Windows start files with a byte order mark.
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML in {path.name}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


_PYPROJECT = "[tool.yui] in pyproject.toml"
_OWN = f"{STATE_DIR_NAME}/config.toml"


def _tool_yui(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.yui]`` table of ``pyproject`` (empty when there is none)."""
    found: Any = _read_toml(pyproject)
    for key in ("tool", "yui"):
        found = found.get(key, {})
        if not isinstance(found, dict):
            raise ConfigError(
                f"invalid {_PYPROJECT}: `{key}` is {type(found).__name__} {found!r}, not a "
                "table (write `[tool.yui]` followed by `key = value` lines)")
    table: dict[str, Any] = found
    return table


def load_settings(root: Path) -> Settings:
    """Settings for the workspace at ``root`` (defaults when nothing is configured)."""
    data: dict[str, Any] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data.update(_normalise(_tool_yui(pyproject)))
    origin = dict.fromkeys(data, _PYPROJECT)
    own = root / STATE_DIR_NAME / "config.toml"
    if os.path.lexists(own):
        # It can switch confinement off: only the user's own file counts (not a symlink,
        # not writable by anyone else, in a folder that is the user's own too).
        check_trusted(own.parent)
        check_trusted(own)
        mine = _normalise(_read_toml(own))
        data.update(mine)
        origin.update(dict.fromkeys(mine, _OWN))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        # Name the file the wrong value is in: the user edits one of two.
        first = exc.errors()[0]["loc"]
        where = origin.get(str(first[0]), _PYPROJECT) if first else _PYPROJECT
        raise ConfigError(_first_error(where, exc)) from None
