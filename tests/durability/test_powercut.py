"""Power cuts at random operations during real applies: nothing torn, nothing lost.

A bounded, seeded run of the runner in tests/durability/powercut.py (its long mode makes
the figures in docs/durability.md). A failure names the cut so it can be replayed:
``python tests/durability/powercut.py --replay SCENARIO:SEED:OP[:reorder]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from powercut import one_cut, run_cuts

#: Cuts per scenario in CI; YUI_POWERCUT_SCALE multiplies them.
CUTS = {"single": 8, "parallel": 5, "undo": 4, "recover": 4, "refactor": 2}
SCALE = float(os.environ.get("YUI_POWERCUT_SCALE", "1"))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(CUTS))
def test_power_cuts_leave_every_task_all_old_or_all_new(scenario: str, tmp_path: Path) -> None:
    cuts = max(1, round(CUTS[scenario] * SCALE))
    results = run_cuts([scenario], cuts, seed=sorted(CUTS).index(scenario) + 1, base=tmp_path)
    bad = [r for r in results if r.problems]
    assert not bad, "\n".join(
        f"replay with `--replay {r.replay}`: {r.problems}" for r in bad)
    assert len(results) == cuts


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["single", "parallel"])
def test_a_run_that_exited_0_survives_a_power_cut_right_after(scenario: str,
                                                              tmp_path: Path) -> None:
    result = one_cut(scenario, seed=7, cut_at=None, reorder=True, base=tmp_path, total_ops=0)
    assert not result.problems, result.problems
    assert result.verdicts and set(result.verdicts.values()) == {"new"}, result.verdicts
