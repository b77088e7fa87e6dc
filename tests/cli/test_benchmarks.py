"""The benchmark runner still works: a quick run produces every coordinator figure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import PYTHON, SOURCE_ROOT, cli_env

RUNNER = SOURCE_ROOT / "benchmarks" / "run.py"


@pytest.mark.slow
@pytest.mark.skipif(not RUNNER.is_file(), reason="benchmarks/ is not part of this install")
def test_quick_benchmark_run_writes_a_report(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [PYTHON, str(RUNNER), "--quick", "--only", "coordinator", "--output", str(report)],
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = report.read_text()
    assert "## bench_coordinator" in text
    for figure in ("submit_task latency p99", "makespan, 8 × sleep 0.5 on 4 workers",
                   "random DAG", "yui refactor over 300 files", "RSS growth"):
        assert figure in text
    assert "Failed" not in text
    assert "- python:" in text and "- cpu:" in text
