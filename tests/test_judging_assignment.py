"""Property test of the assignment constraints on random instances (hypothesis)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from events_service.judging.assignment import AssignmentImpossible, plan_assignment
from events_service.judging.ranking import is_connected


@st.composite
def instances(draw: st.DrawFn) -> dict:
    n_judges = draw(st.integers(1, 9))
    n_entries = draw(st.integers(1, 30))
    n_orgs = draw(st.integers(1, 6))
    k = draw(st.integers(1, min(n_judges, 4)))
    entries = {
        e: draw(st.one_of(st.none(), st.integers(1, n_orgs))) for e in range(1, n_entries + 1)
    }
    judges = list(range(100, 100 + n_judges))
    conflicts = draw(
        st.sets(st.tuples(st.sampled_from(judges), st.integers(1, n_orgs)), max_size=n_judges)
    )
    anchors = draw(st.sets(st.sampled_from(sorted(entries)), max_size=2))
    seed = draw(st.integers(0, 1000))
    return {
        "entries": entries,
        "judges": judges,
        "k": k,
        "conflicts": conflicts,
        "anchors": anchors,
        "seed": seed,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_plan_satisfies_the_constraints(instance: dict) -> None:
    try:
        plan = plan_assignment(**instance)
    except AssignmentImpossible as exc:
        # Refusals must name a reason; the cheap necessary condition is checked below.
        assert str(exc)
        return
    entries, judges, k = instance["entries"], instance["judges"], instance["k"]
    conflicts, anchors = instance["conflicts"], instance["anchors"]
    pairs = plan.pairs
    assert len(set(pairs)) == len(pairs), "a judge twice on one entry"
    per_entry = Counter(e for e, _ in pairs)
    for entry, org in entries.items():
        eligible = [j for j in judges if org is None or (j, org) not in conflicts]
        expected = len(eligible) if entry in anchors else k
        assert per_entry[entry] == expected, (entry, per_entry[entry], expected)
    for entry, judge in pairs:
        org = entries[entry]
        assert org is None or (judge, org) not in conflicts, "conflict violated"
    loads = Counter(j for _, j in pairs)
    all_loads = [loads.get(j, 0) for j in judges]
    assert max(all_loads) - min(all_loads) <= 1, all_loads
    assert plan.connected == is_connected(pairs)
    # Determinism: the same seed gives the same plan.
    assert plan_assignment(**instance).pairs == pairs


@settings(max_examples=150, deadline=None)
@given(
    n_judges=st.integers(2, 8),
    n_entries=st.integers(2, 40),
    k=st.integers(2, 4),
    seed=st.integers(0, 10_000),
)
def test_without_conflicts_the_graph_is_connected(
    n_judges: int, n_entries: int, k: int, seed: int
) -> None:
    k = min(k, n_judges)
    # A connected graph needs at least nodes - 1 edges.
    assume(n_entries * k >= n_entries + n_judges - 1)
    plan = plan_assignment(
        entries=dict.fromkeys(range(n_entries)), judges=list(range(n_judges)), k=k, seed=seed
    )
    assert plan.connected and is_connected(plan.pairs)


def test_too_few_judges_is_a_clear_refusal() -> None:
    with pytest.raises(AssignmentImpossible, match="needs 3 judges but only 2"):
        plan_assignment(entries={1: 7}, judges=[1, 2, 3], k=3, conflicts={(3, 7)})


def test_different_seeds_give_different_valid_plans() -> None:
    entries = dict.fromkeys(range(20))
    plans = {tuple(plan_assignment(entries, list(range(6)), 2, seed=s).pairs) for s in range(5)}
    assert len(plans) > 1
