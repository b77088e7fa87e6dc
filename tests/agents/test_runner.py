"""The runner's executor seam and stdin handling."""

from __future__ import annotations

import sys

from tests.agents.conftest import RunFactory
from yui_lsp.agents.output import clean_line
from yui_lsp.agents.runner import LocalExecutor, ProcessSpec, RawLineHandler, run_agent_process
from yui_lsp.config import AgentProfile

SHELL = AgentProfile(kind="shell")


class RecordingExecutor:
    """Stands in for a remote executor: sees every spec, delegates the work."""

    def __init__(self) -> None:
        self.specs: list[ProcessSpec] = []

    async def execute(self, spec: ProcessSpec, on_line: RawLineHandler) -> int:
        self.specs.append(spec)
        return await LocalExecutor().execute(spec, on_line)


async def test_executor_is_replaceable_and_gets_argv_env_cwd(make_run: RunFactory) -> None:
    executor = RecordingExecutor()
    profile = AgentProfile(kind="shell", env={"FROM_PROFILE": "1"})
    run = make_run(profile, env={"FROM_RUN": "2"})
    code = "import os; print(os.environ['FROM_PROFILE'] + os.environ['FROM_RUN'], os.getcwd())"
    outcome = await run_agent_process(run, [sys.executable, "-c", code], executor=executor)
    assert outcome.exit_code == 0
    assert outcome.sink.last("stdout", 1) == f"12 {make_run.workdir}"
    (spec,) = executor.specs
    assert spec.cwd == make_run.workdir and spec.stdin is None
    assert spec.env["FROM_PROFILE"] == "1" and "PATH" in spec.env


async def test_prompt_on_stdin_arrives_whole(make_run: RunFactory) -> None:
    prompt = "line one\n'quoted' \"double\" $(not expanded)\n" + "x" * 200_000
    code = "import sys; d = sys.stdin.read(); print(len(d), d.splitlines()[1])"
    outcome = await run_agent_process(
        make_run(SHELL), [sys.executable, "-c", code], stdin=prompt.encode()
    )
    assert outcome.sink.last("stdout", 1) == f"{len(prompt)} 'quoted' \"double\" $(not expanded)"


def test_clean_line_strips_escapes_and_caps() -> None:
    assert clean_line(b"\x1b[1;32mok\x1b[0m\x07 done\r\n", 100) == "ok\\x07 done"
    assert clean_line(b"spinner 1\rspinner 2\rfinal", 100) == "final"
    assert clean_line("é" * 50, 10) == "é" * 10 + "… [40 more chars]"
