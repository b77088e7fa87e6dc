"""The shared claim table: the Python matcher agrees with every case the clients run too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from yui_lsp.errors import PlanError
from yui_lsp.workspace import ClaimSet, path_matches, validate_claims

_TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "claims.json"
_CASES: list[dict[str, Any]] = json.loads(_TABLE.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(
    "case", _CASES, ids=[f"{c['claim']} ~ {c['path']}" for c in _CASES]
)
def test_claim_table(case: dict[str, Any]) -> None:
    claim, path, expected = case["claim"], case["path"], case["matches"]
    assert ClaimSet([claim]).covers(path) is expected
    assert path_matches(path, [claim]) is expected


def test_claim_table_covers_the_cases_the_matchers_disagreed_on() -> None:
    claims = {c["claim"] for c in _CASES}
    assert {"a/**", "{a,b}", "./src/*.py", "a//b"} <= claims


def test_braces_expand_for_overlaps_and_bad_braces_are_refused() -> None:
    assert ClaimSet(["src/{api,db}/**"]).overlaps(ClaimSet(["src/db/m.py"]))
    assert not ClaimSet(["src/{api,db}/**"]).overlaps(ClaimSet(["src/ui/**"]))
    for bad in ("src/{a,b", "src/a}", "{a,{b}"):
        with pytest.raises(PlanError):
            validate_claims([bad])
    many = "/".join("{a,b,c}" for _ in range(6))  # 729 alternatives
    with pytest.raises(PlanError, match="more than"):
        validate_claims([many])
