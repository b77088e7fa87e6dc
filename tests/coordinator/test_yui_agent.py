"""Yui's own worker run by the real coordinator: its writes meet the real write guard, its
result lands like any agent's, its token figures reach the task's metrics."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.real_cli import scripted_server
from yui_lsp import ParallelTaskManager, Task, TaskStatus
from yui_lsp.config import Settings, YuiModelConfig


async def test_yui_task_lands_and_takes_a_free_lease_outside_its_claims(
    repo: Path, settings: Settings, tmp_path: Path
) -> None:
    script = {"chat": [
        {"tool": "write_file", "args": {"path": "docs/api.md", "content": "# API\n"}},
        # Outside the claims, but no other task holds it: the lease is taken, the write lands.
        {"tool": "edit_file", "args": {"path": "src/b.py", "old": "y = 2", "new": "y = 3"}},
        {"text": "documented"},
    ]}
    with scripted_server(tmp_path / "model", script) as (port, log):
        model = YuiModelConfig(model="gpt-test", base_url=f"http://127.0.0.1:{port}/v1",
                               max_retries=0)
        configured = settings.model_copy(update={"yui": model})
        async with ParallelTaskManager(repo, settings=configured) as manager:
            future = await manager.submit_task(
                Task(id="docs", prompt="Document the API", claims=["docs/**"]), "yui"
            )
            result = await future.result(timeout=60)
            assert manager.locks() == []
    assert result.status == TaskStatus.COMPLETED, result.error
    assert (repo / "docs" / "api.md").read_text() == "# API\n"
    assert (repo / "src" / "b.py").read_text() == "y = 3\n"
    assert sorted(result.files_modified) == ["docs/api.md", "src/b.py"]
    assert "edited src/b.py" in log.read_text()
    assert result.metrics is not None
    extra = result.metrics.extra
    assert extra["turns"] == 3 and extra["input_tokens"] == 300 and extra["files_written"] == 2
