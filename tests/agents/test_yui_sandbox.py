"""The sandbox tools of Yui's worker on their own (no model): what the model gets back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agents.conftest import RunFactory
from yui_lsp.agents.output import OutputSink, ProgressReporter
from yui_lsp.agents.yui.sandbox import SandboxTools
from yui_lsp.config import AgentProfile, YuiModelConfig


@pytest.fixture
def tools(make_run: RunFactory) -> Iterator[SandboxTools]:
    run = make_run(AgentProfile(kind="yui", confine="off"), "x")
    config = YuiModelConfig(model="m", output_cap_chars=1000, command_timeout_s=2)
    with OutputSink(run) as sink:
        yield SandboxTools(run, config, sink, ProgressReporter(run))


async def test_read_pages_long_files(tools: SandboxTools) -> None:
    (tools.root / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    first = await tools.read_file("long.txt", limit=4)
    assert first.startswith("line 1\n") and "line 4\n" in first and "line 5" not in first
    assert "6 more lines; read again with offset=5" in first
    assert (await tools.read_file("long.txt", offset=9)) == "line 9\nline 10\n"
    assert (await tools.read_file("missing.txt")) == "ERROR: missing.txt does not exist"


async def test_edit_needs_exactly_one_match(tools: SandboxTools) -> None:
    (tools.root / "a.py").write_text("x = 1\nx = 1\n")
    assert "appears 2 times" in await tools.edit_file("a.py", "x = 1", "x = 2")
    assert "not found" in await tools.edit_file("a.py", "y = 1", "y = 2")
    assert tools.written == []
    assert (await tools.edit_file("a.py", "x = 1", "x = 2", replace_all=True)).startswith("edited")
    assert (tools.root / "a.py").read_text() == "x = 2\nx = 2\n"
    assert tools.written == ["a.py"]


async def test_search_is_bounded_and_skips_binaries(tools: SandboxTools) -> None:
    (tools.root / "many.txt").write_text("hit\n" * 500)
    (tools.root / "blob.bin").write_bytes(b"\0hit\n")
    (tools.root / "node_modules").mkdir()
    (tools.root / "node_modules" / "dep.js").write_text("hit\n")
    found = await tools.search("hit")
    assert found.count("many.txt:") <= 201 and "more than 200 matches" in found
    assert "blob.bin" not in found and "node_modules" not in found
    assert (await tools.search("(")).startswith("ERROR: invalid regex")
    assert await tools.search("hit", glob="*.py") == "no matches"


async def test_command_output_is_capped_and_time_limited(tools: SandboxTools) -> None:
    loud = await tools.run_command("yes line | head -n 5000; exit 3")
    assert loud.startswith("exit code 3") and loud.endswith("[... output cut]")
    assert len(loud) < 1200
    slow = await tools.run_command("echo started; sleep 30", timeout_s=0.5)
    assert slow.startswith("TIMEOUT: the command was stopped after 0.5 s")
    assert "started" in slow


async def test_directories_cannot_be_written(tools: SandboxTools) -> None:
    (tools.root / "pkg").mkdir()
    assert (await tools.write_file("pkg", "x")).startswith("REFUSED:")
    assert (await tools.write_file(".", "x")).startswith("REFUSED:")
    assert tools.refused == ["write to pkg", "write to ."]
