"""Dependency validation and ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yui_lsp.coordinator.dag import find_cycle, topological_order, validate
from yui_lsp.errors import DependencyCycleError, PlanError


def test_cycle_is_named_in_order() -> None:
    with pytest.raises(DependencyCycleError) as info:
        validate({"a": ["c"], "b": ["a"], "c": ["b"]})
    assert info.value.cycle[0] == info.value.cycle[-1]
    assert set(info.value.cycle) == {"a", "b", "c"}
    assert "a -> c -> b -> a" in str(info.value)


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(DependencyCycleError, match="x -> x"):
        validate({"x": ["x"]})


def test_unknown_dependency_is_refused() -> None:
    with pytest.raises(PlanError, match="unknown task 'ghost'"):
        validate({"a": ["ghost"]})


def test_known_ids_satisfy_dependencies() -> None:
    validate({"b": ["a"]}, known=["a"])


def test_waves_respect_dependencies() -> None:
    waves = topological_order({"api": [], "ui": [], "tests": ["api", "ui"], "docs": ["tests"]})
    assert waves == [["api", "ui"], ["tests"], ["docs"]]


@given(st.integers(min_value=1, max_value=40), st.randoms(use_true_random=False))
def test_random_dags_have_no_cycle_and_order_is_topological(n: int, rnd) -> None:  # type: ignore[no-untyped-def]
    edges = {f"t{i}": [f"t{j}" for j in range(i) if rnd.random() < 0.2] for i in range(n)}
    assert find_cycle(edges) is None
    position = {t: k for k, wave in enumerate(topological_order(edges)) for t in wave}
    for task, deps in edges.items():
        assert all(position[d] < position[task] for d in deps)


def test_deep_chain_does_not_overflow() -> None:
    edges = {f"t{i}": ([f"t{i - 1}"] if i else []) for i in range(5000)}
    edges["t0"] = ["t4999"]
    cycle = find_cycle(edges)
    assert cycle is not None and len(cycle) == 5001
