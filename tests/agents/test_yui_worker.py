"""Yui's own worker: the real pydantic-ai provider code over HTTP against the scripted model
server on 127.0.0.1 (tests/fixtures/model_server.py), with the real sandbox tools."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.agents.conftest import RunFactory, all_dead
from tests.agents.test_confinement import needs_bwrap
from tests.fixtures.real_cli import scripted_server
from yui_lsp.agents.base import AgentRun
from yui_lsp.agents.yui import check_model_task, run_model_worker
from yui_lsp.config import AgentProfile, ConfineMode, YuiModelConfig
from yui_lsp.errors import AgentFailedError, AgentUnavailableError, LeaseError, PlanError
from yui_lsp.protocol import Task


class Server:
    """A running scripted model server: its port and what it was asked."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    @property
    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def profile(self, provider: str = "openai", confine: ConfineMode = "auto",
                **config: Any) -> AgentProfile:
        base = f"http://127.0.0.1:{self.port}" + ("/v1" if provider == "openai" else "")
        model = "claude-test" if provider == "anthropic" else "gpt-test"
        yui = YuiModelConfig.model_validate(
            {"model": model, "provider": provider, "base_url": base, "max_retries": 0, **config}
        )
        env = {"ANTHROPIC_API_KEY": "test-key"} if provider == "anthropic" else {}
        return AgentProfile(kind="yui", yui=yui, confine=confine, env=env)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[Any] = []

    def start(script: dict[str, Any]) -> Server:
        ctx = scripted_server(tmp_path / f"server{len(servers)}", script)
        port, log = ctx.__enter__()
        servers.append(ctx)
        return Server(port, log)

    yield start
    for ctx in servers:
        ctx.__exit__(None, None, None)


def _calc(make_run: RunFactory) -> None:
    (make_run.workdir / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (make_run.workdir / "test_calc.py").write_text(
        "import calc\nassert calc.add(2, 3) == 5, calc.add(2, 3)\nprint('1 passed')\n"
    )


async def test_reads_edits_runs_the_tests_and_finishes(
    make_run: RunFactory, serve: Any, tmp_path: Path
) -> None:
    _calc(make_run)
    server = serve({"chat": [
        {"tool": "read_file", "args": {"path": "calc.py"}},
        {"tool": "edit_file", "args": {"path": "calc.py", "old": "a - b", "new": "a + b"}},
        {"tool": "run_command", "args": {"command": "python3 test_calc.py"}},
        {"text": "Fixed add(); test_calc.py passes."},
    ]})
    workspace = tmp_path / "repo"
    workspace.mkdir()
    run = make_run(server.profile(input_price_per_mtok=1.0, output_price_per_mtok=2.0),
                   "fix add", workspace_root=workspace, progress_interval_s=0.0)
    outcome = await run_model_worker(run)

    assert (make_run.workdir / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert outcome.files_reported == ["calc.py"]
    assert outcome.summary == "Fixed add(); test_calc.py passes."
    seen = [r["tool_result"] for r in server.requests]
    assert seen[1] == "def add(a, b):\n    return a - b\n"  # the model read the real file
    assert seen[3].startswith("exit code 0") and "1 passed" in seen[3]
    assert all(r["stream"] for r in server.requests)  # streamed chat completions
    assert outcome.metrics["turns"] == 4
    assert outcome.metrics["input_tokens"] == 400 and outcome.metrics["output_tokens"] == 80
    assert outcome.metrics["cost_usd"] == pytest.approx((400 * 1.0 + 80 * 2.0) / 1e6)
    messages = [u.message for u in make_run.recorder.updates]
    assert any(m.startswith("model turn 4: 400 in / 80 out tokens") for m in messages)
    assert "$ python3 test_calc.py" in make_run.recorder.lines


async def test_write_outside_claims_is_refused_and_the_model_adapts(
    make_run: RunFactory, serve: Any
) -> None:
    asked: list[str] = []

    async def guard(rel: str) -> None:
        asked.append(rel)
        if rel == "README.md":
            raise LeaseError("README.md is leased by another task; write refused after 30 s")

    (make_run.workdir / "README.md").write_text("# demo\n")
    server = serve({"chat": [
        {"tool": "write_file", "args": {"path": "README.md", "content": "# mine\n"}},
        {"tool": "write_file", "args": {"path": "docs/notes.md", "content": "notes\n"}},
        {"text": "README.md is held by another task; wrote docs/notes.md instead."},
    ]})
    run = make_run(server.profile(confine="off"), "document it", write_guard=guard,
                   task={"claims": ["docs/**"]})
    outcome = await run_model_worker(run)

    assert asked == ["README.md", "docs/notes.md"]
    refusal = server.requests[1]["tool_result"]
    assert refusal.startswith("REFUSED:") and "leased by another task" in refusal
    assert (make_run.workdir / "README.md").read_text() == "# demo\n"
    assert (make_run.workdir / "docs" / "notes.md").read_text() == "notes\n"
    assert outcome.files_reported == ["docs/notes.md"]
    assert outcome.metrics["refused"] == 1


async def test_paths_outside_the_sandbox_and_git_are_refused(
    make_run: RunFactory, serve: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    os.symlink(outside, make_run.workdir / "link.txt")
    server = serve({"chat": [
        {"tool": "read_file", "args": {"path": "../outside.txt"}},
        {"tool": "write_file", "args": {"path": str(outside), "content": "x"}},
        {"tool": "read_file", "args": {"path": "link.txt"}},
        {"tool": "write_file", "args": {"path": ".git/config", "content": "x"}},
        {"text": "done"},
    ]})
    await run_model_worker(make_run(server.profile(confine="off"), "try"))
    results = [r["tool_result"] for r in server.requests[1:]]
    assert all(r.startswith("REFUSED:") for r in results), results
    assert "outside the task's sandbox" in results[0] and "symlink" in results[2]
    assert ".git and .yui are off limits" in results[3]
    assert outside.read_text() == "secret\n"


@needs_bwrap
async def test_a_command_writing_the_workspace_by_absolute_path_gets_erofs(
    make_run: RunFactory, serve: Any, tmp_path: Path
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "a.py").write_text("x = 1\n")
    server = serve({"chat": [
        {"tool": "run_command", "args": {"command": f"echo pwned > {workspace}/a.py"}},
        {"text": "could not"},
    ]})
    run = make_run(server.profile(confine="required"), "escape", workspace_root=workspace)
    await run_model_worker(run)
    result = server.requests[1]["tool_result"]
    assert "Read-only file system" in result and not result.startswith("exit code 0")
    assert (workspace / "a.py").read_text() == "x = 1\n"


async def test_a_looping_model_is_ended_by_the_turn_budget(
    make_run: RunFactory, serve: Any
) -> None:
    server = serve({"loop": {"tool": "list_files", "args": {}}})
    with pytest.raises(AgentFailedError, match="used its 3 model turns without finishing"):
        await run_model_worker(make_run(server.profile(confine="off", max_turns=3), "loop"))
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("errors", "retries", "expected"),
    [
        ([{"status": 401}], 2, "refused the API key (HTTP 401)"),
        ([{"status": 500, "retry_after_ms": 5}] * 2, 1, "failed (HTTP 500)"),
        ([{"status": 429, "retry_after_ms": 5}] * 3, 2, "rate-limited (HTTP 429) after 2 retries"),
    ],
)
async def test_provider_errors_fail_clearly(
    make_run: RunFactory, serve: Any, errors: list[dict[str, Any]], retries: int, expected: str
) -> None:
    server = serve({"errors": errors, "chat": [{"text": "never"}]})
    with pytest.raises(AgentFailedError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        await run_model_worker(make_run(server.profile(confine="off", max_retries=retries), "x"))
    # 401 is not retried; the others are, up to max_retries
    assert len(server.requests) == (1 if errors[0]["status"] == 401 else retries + 1)


async def test_rate_limit_is_retried_then_succeeds(make_run: RunFactory, serve: Any) -> None:
    server = serve({"errors": [{"status": 429, "retry_after_ms": 5}], "chat": [{"text": "ok"}]})
    outcome = await run_model_worker(make_run(server.profile(confine="off", max_retries=2), "x"))
    assert outcome.summary == "ok"
    assert [r.get("status") for r in server.requests] == [429, None]


async def test_a_model_that_does_not_answer_times_out(make_run: RunFactory, serve: Any) -> None:
    server = serve({"errors": [{"hang": 30}]})
    with pytest.raises(AgentFailedError, match="did not answer within 1 s"):
        await run_model_worker(
            make_run(server.profile(confine="off", request_timeout_s=1), "x")
        )


async def _cancel_when(run: AgentRun, ready: Any) -> bool:
    """Run the worker, cancel it once ``ready()``; True when it ended by the cancellation."""
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(run_model_worker, run)
            while not ready():
                await anyio.sleep(0.05)
            scope.cancel()
    return scope.cancelled_caught


async def test_cancel_stops_the_model_call(make_run: RunFactory, serve: Any) -> None:
    server = serve({"errors": [{"hang": 60}]})
    run = make_run(server.profile(confine="off"), "x")
    with anyio.fail_after(20):
        assert await _cancel_when(run, lambda: bool(server.requests))
    assert len(server.requests) == 1  # no retry after the cancellation


async def test_cancel_ends_the_command_the_model_runs(make_run: RunFactory, serve: Any) -> None:
    pidfile = make_run.workdir / "pids"
    command = "sleep 60 & echo $! > pids.tmp; mv pids.tmp pids; wait"
    server = serve({"chat": [{"tool": "run_command", "args": {"command": command}}]})
    run = make_run(server.profile(confine="off"), "x")
    with anyio.fail_after(20):
        assert await _cancel_when(run, pidfile.exists)
    assert all_dead([int(pidfile.read_text())])


async def test_anthropic_messages_provider(make_run: RunFactory, serve: Any) -> None:
    server = serve({
        "claude": [{"name": "write_file", "input": {"path": "hello.txt", "content": "hi\n"}}],
        "final": "wrote hello.txt",
    })
    outcome = await run_model_worker(make_run(server.profile("anthropic", confine="off"), "x"))
    assert (make_run.workdir / "hello.txt").read_text() == "hi\n"
    assert outcome.summary == "wrote hello.txt"
    assert [r["path"] for r in server.requests] == ["/v1/messages"] * 2


def test_a_yui_task_without_a_model_is_refused_in_one_line() -> None:
    task = Task(id="db", prompt="add a table", agent="yui")
    with pytest.raises(AgentUnavailableError, match=r"no model configured: set model") as exc:
        check_model_task(task, AgentProfile(kind="yui", yui=YuiModelConfig()))
    assert "\n" not in str(exc.value)
    keyless = YuiModelConfig(model="gpt-4.1", api_key_env="YUI_TEST_NO_SUCH_KEY")
    with pytest.raises(AgentUnavailableError, match=r"\$YUI_TEST_NO_SUCH_KEY"):
        check_model_task(task, AgentProfile(kind="yui", yui=keyless))
    with pytest.raises(PlanError, match="needs a prompt"):
        check_model_task(Task(id="db", agent="yui"), AgentProfile(kind="yui"))
    # A local OpenAI-compatible server needs no key.
    local = YuiModelConfig(model="qwen2.5-coder", base_url="http://127.0.0.1:11434/v1")
    check_model_task(task, AgentProfile(kind="yui", yui=local))



def test_a_remote_base_url_needs_the_users_trust() -> None:
    # A repository's config could otherwise send the user's code and key anywhere.
    task = Task(id="db", prompt="add a table", agent="yui")
    remote = YuiModelConfig(model="m", base_url="https://models.example.com/v1",
                            api_key_env="YUI_TEST_KEY")
    profile = AgentProfile(kind="yui", yui=remote, env={"YUI_TEST_KEY": "k"})
    with pytest.raises(AgentUnavailableError, match=r"\$YUI_TRUSTED_MODEL_URLS") as exc:
        check_model_task(task, profile)
    assert "\n" not in str(exc.value)
    trusted = profile.model_copy(update={"env": {
        "YUI_TEST_KEY": "k", "YUI_TRUSTED_MODEL_URLS": "https://models.example.com"}})
    check_model_task(task, trusted)
    lookalike = remote.model_copy(update={"base_url": "https://models.example.com.evil.net/v1"})
    with pytest.raises(AgentUnavailableError, match="TRUSTED"):
        check_model_task(task, trusted.model_copy(update={"yui": lookalike}))
    for url in ("http://localhost:8000/v1", "http://127.0.0.2:11434/v1", "http://[::1]:8000"):
        local = YuiModelConfig(model="m", base_url=url)
        check_model_task(task, AgentProfile(kind="yui", yui=local))
