"""The ranking module on hand-computed cases, and the ranking endpoint end to end."""

from __future__ import annotations

import math
import statistics

import httpx
import pytest

from events_service.judging.ranking import (
    CriterionSpec,
    EntrySpec,
    RankingError,
    Sheet,
    additive_fit,
    rank,
    weighted_total,
)
from tests.conftest import LoginAs
from tests.judging_helpers import API, my_assignments, ok, scored_round, submit

ONE = [CriterionSpec(1, "Overall", 1.0, 0.0, 10.0)]
A, B, C, D = 1, 2, 3, 4
ENTRIES = [EntrySpec(A, 0, "A"), EntrySpec(B, 1, "B"), EntrySpec(C, 2, "C")]


def sheet(entry: int, judge: int, value: float, submitted: bool = True) -> Sheet:
    return Sheet(entry, judge, {1: value}, submitted)


def order(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [e.entry_id for e in result.entries]


def by_id(result) -> dict:  # type: ignore[no-untyped-def]
    return {e.entry_id: e for e in result.entries}


def test_weighted_total_is_the_weighted_mean_of_the_criteria() -> None:
    criteria = [CriterionSpec(1, "x", 2.0, 0, 10), CriterionSpec(2, "y", 1.0, 0, 5)]
    assert weighted_total({1: 9, 2: 3}, criteria) == pytest.approx(7.0)  # (18 + 3) / 3


# True quality A=8 > B=7 > C=5. Judge 1 is fair, judge 2 is 3 points harsher.
# Judge 1 scores A and C; judge 2 scores A and B, so B only meets the harsh judge.
HARSH = [sheet(A, 1, 8), sheet(C, 1, 5), sheet(A, 2, 5), sheet(B, 2, 4)]


def test_a_harsh_judge_flips_the_order_under_mean() -> None:
    result = rank(ENTRIES, ONE, HARSH, method="mean")
    # A: (8 + 5) / 2 = 6.5, C: 5, B: 4 -> B wrongly below C.
    assert order(result) == [A, C, B]
    assert [e.score for e in result.entries] == [6.5, 5.0, 4.0]


def test_additive_model_removes_the_judge_bias_and_restores_the_order() -> None:
    result = rank(ENTRIES, ONE, HARSH, method="additive")
    assert result.method_used == "additive" and result.connected
    # Four sheets, four free parameters: an exact fit. From A, judge 2 is 3 points
    # below judge 1, so biases are +1.5 / -1.5 and mu + effect is A 6.5, B 5.5, C 3.5.
    assert order(result) == [A, B, C]
    scores = by_id(result)
    assert scores[A].score == pytest.approx(6.5)
    assert scores[B].score == pytest.approx(5.5)
    assert scores[C].score == pytest.approx(3.5)
    assert scores[A].effect == pytest.approx(6.5 - 15.5 / 3)
    # No residual degrees of freedom: the uncertainty is unknown, and says so.
    assert scores[A].standard_error is None


def test_additive_standard_error_on_a_balanced_two_by_two() -> None:
    # y: A/J1 8, A/J2 6, B/J1 6, B/J2 2. mu = 5.5, effects +-1.5, biases +-1.5,
    # residuals +-0.5 -> RSS 1 on 1 dof, sigma^2 = 1; SE(effect) = sigma / 2 = 0.5.
    fit = additive_fit([(A, 1, 8.0), (A, 2, 6.0), (B, 1, 6.0), (B, 2, 2.0)])
    assert fit.mu == pytest.approx(5.5)
    assert fit.effects == pytest.approx({A: 1.5, B: -1.5})
    assert fit.biases == pytest.approx({1: 1.5, 2: -1.5})
    assert fit.standard_errors[A] == pytest.approx(0.5)
    assert fit.standard_errors[B] == pytest.approx(0.5)
    assert fit.residual_sd == pytest.approx(1.0)


def test_zscore_standardises_each_judge_and_maps_back_to_the_scale() -> None:
    sheets = [sheet(A, 1, 6), sheet(B, 1, 8), sheet(C, 1, 10)]
    sheets += [sheet(A, 2, 2), sheet(B, 2, 3), sheet(C, 2, 4)]
    result = rank(ENTRIES, ONE, sheets, method="zscore")
    # Both judges put A one and a bit sd below their mean: z = -sqrt(1.5).
    # Grand mean 5.5, grand population sd sqrt(47.5 / 6).
    grand_sd = math.sqrt(47.5 / 6)
    scores = by_id(result)
    assert scores[A].score == pytest.approx(5.5 - grand_sd * math.sqrt(1.5))
    assert scores[B].score == pytest.approx(5.5)
    assert scores[C].score == pytest.approx(5.5 + grand_sd * math.sqrt(1.5))
    assert scores[A].raw_mean == pytest.approx(4.0)


def test_zscore_leaves_judges_with_fewer_than_three_sheets_raw() -> None:
    sheets = [sheet(A, 1, 6), sheet(B, 1, 8), sheet(C, 1, 10), sheet(A, 3, 7), sheet(B, 3, 1)]
    values = [6, 8, 10, 7, 1]
    grand_mean, grand_sd = statistics.fmean(values), statistics.pstdev(values)
    z_a = (6 - 8) / statistics.pstdev([6, 8, 10])
    result = by_id(rank(ENTRIES, ONE, sheets, method="zscore"))
    assert result[A].score == pytest.approx(((grand_mean + grand_sd * z_a) + 7) / 2)
    assert result[B].score == pytest.approx((grand_mean + 1) / 2)


def test_disconnected_graph_falls_back_to_zscore_and_says_so() -> None:
    entries = [*ENTRIES, EntrySpec(D, 3, "D")]
    sheets = [sheet(A, 1, 6), sheet(B, 1, 7), sheet(C, 2, 3), sheet(D, 2, 9)]
    result = rank(entries, ONE, sheets, method="additive")
    assert not result.connected
    assert result.method_requested == "additive" and result.method_used == "zscore"
    assert "disconnected" in (result.fallback_reason or "")
    assert all(e.effect is None for e in result.entries)


def test_incomplete_sheets_are_excluded_and_listed() -> None:
    criteria = [CriterionSpec(1, "x", 1, 0, 10), CriterionSpec(2, "y", 1, 0, 10)]
    sheets = [
        Sheet(A, 1, {1: 8, 2: 8}, True, 11),
        Sheet(A, 2, {1: 1, 2: 1}, False, 12),  # a draft
        Sheet(B, 1, {1: 7}, True, 13),  # submitted but missing y
        Sheet(B, 2, {1: 6, 2: 6}, True, 14),
    ]
    result = rank(ENTRIES, criteria, sheets, method="mean")
    assert {(x.assignment_id, x.reason) for x in result.excluded_sheets} == {
        (12, "not submitted"),
        (13, "missing criteria"),
    }
    scores = by_id(result)
    assert scores[A].score == 8.0 and scores[A].judges == 1
    assert scores[B].score == 6.0 and scores[B].judges == 1
    # C has no complete sheet: listed last, unranked.
    assert result.entries[-1].entry_id == C and scores[C].rank is None


def test_spread_over_the_threshold_is_flagged_as_disagreement() -> None:
    sheets = [sheet(A, 1, 9), sheet(A, 2, 2), sheet(B, 1, 6), sheet(B, 2, 5)]
    result = by_id(rank(ENTRIES, ONE, sheets, method="mean", disagreement_threshold=0.3))
    assert result[A].spread == 7 and result[A].disagreement  # 7 > 0.3 * 10
    assert result[B].spread == 1 and not result[B].disagreement


def test_tie_break_chain_records_the_rule_that_decided() -> None:
    # Equal means of 6: A's median is 5, B's is 6 -> B first by "median".
    sheets = [sheet(A, 1, 5), sheet(A, 2, 5), sheet(A, 3, 8)]
    sheets += [sheet(B, 1, 6), sheet(B, 2, 6), sheet(B, 3, 6)]
    result = rank(ENTRIES, ONE, sheets, method="mean", tie_break=["median", "earliest"])
    assert order(result)[:2] == [B, A]
    assert by_id(result)[A].tie_break == {"rule": "median", "against": B}
    assert by_id(result)[B].tie_break == {"rule": "median", "against": A}

    # Same mean and median, more judges wins under "judges".
    sheets = [sheet(A, 1, 6), sheet(A, 2, 6), sheet(B, 1, 6), sheet(B, 2, 6), sheet(B, 3, 6)]
    result = rank(ENTRIES, ONE, sheets, method="mean", tie_break=["median", "judges"])
    assert order(result)[:2] == [B, A] and by_id(result)[A].tie_break["rule"] == "judges"

    # Equal on everything but a named criterion.
    criteria = [CriterionSpec(1, "x", 1, 0, 10), CriterionSpec(2, "y", 1, 0, 10)]
    sheets = [Sheet(A, 1, {1: 4, 2: 8}, True), Sheet(B, 1, {1: 8, 2: 4}, True)]
    result = rank(ENTRIES, criteria, sheets, method="mean", tie_break=["criterion:1", "earliest"])
    assert order(result)[:2] == [B, A] and by_id(result)[A].tie_break["rule"] == "criterion:1"

    # Only the entry order separates them.
    sheets = [sheet(A, 1, 6), sheet(B, 1, 6)]
    result = rank(ENTRIES, ONE, sheets, method="mean", tie_break=["median", "earliest"])
    assert order(result)[:2] == [A, B] and by_id(result)[B].tie_break["rule"] == "earliest"
    assert [by_id(result)[A].rank, by_id(result)[B].rank] == [1, 2]

    # Nothing separates them: they share the rank.
    result = rank(ENTRIES, ONE, sheets, method="mean", tie_break=["median"])
    assert [by_id(result)[A].rank, by_id(result)[B].rank] == [1, 1]
    assert by_id(result)[B].tie_break["rule"] == "unbroken"


def test_each_judges_severity_is_reported_with_its_sign_whatever_the_method() -> None:
    # Judge 1 gives 2 points less than judge 2 on every entry: harsher by 1 each way of
    # the average judge (the model's biases sum to zero), whichever method ranks.
    sheets = [sheet(e, 1, v - 2) for e, v in ((A, 8), (B, 6), (C, 5))] + [
        sheet(e, 2, v) for e, v in ((A, 8), (B, 6), (C, 5))
    ]
    for method in ("additive", "mean", "zscore"):
        result = rank(ENTRIES, ONE, sheets, method=method)
        judges = {j.judge_id: j for j in result.judges}
        assert judges[1].severity == pytest.approx(-1.0), method
        assert judges[2].severity == pytest.approx(1.0), method
        assert judges[1].sheets == 3 and judges[1].basis == "model"

    # Two groups of judges sharing no entry: only the gap to the same entries' other
    # sheets can be said (and a judge alone on their entries has none).
    apart = [sheet(A, 1, 4), sheet(A, 2, 7), sheet(B, 3, 5)]
    result = rank(ENTRIES, ONE, apart, method="additive")
    judges = {j.judge_id: j for j in result.judges}
    assert result.method_used == "zscore"
    assert judges[1].basis == "entry_means" and judges[1].severity == pytest.approx(-3.0)
    assert judges[2].severity == pytest.approx(3.0) and judges[3].severity is None


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(RankingError):
        rank(ENTRIES, [], [], method="mean")
    with pytest.raises(RankingError):
        rank(ENTRIES, ONE, [], method="median")
    with pytest.raises(RankingError):
        rank(ENTRIES, ONE, [], tie_break=["criterion:99"])


async def test_ranking_endpoint_corrects_a_harsh_judge(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(
        client,
        admin,
        entries=3,
        judges=3,
        k=3,
        criteria=(("Overall", 1.0, 0.0, 10.0, "1"),),
    )
    quality = dict(zip(setup.entries, [8, 7, 5], strict=True))
    harsh = next(iter(setup.judges))
    for judge_id, headers in setup.judges.items():
        for a in await my_assignments(client, headers):
            value = quality[a["entry"]["id"]] - (3 if judge_id == harsh else 0)
            # The harsh judge leaves entry 0 as a draft: excluded and listed.
            final = not (judge_id == harsh and a["entry"]["id"] == setup.entries[0])
            ok(await submit(client, headers, a["id"], {setup.criteria[0]: value}, final=final))
    result = ok(await client.get(f"{API}/rounds/{setup.round_id}/ranking", headers=admin))
    assert result["method_used"] == "additive" and result["connected"] is True
    assert [e["entry_id"] for e in result["entries"]] == setup.entries
    assert [e["rank"] for e in result["entries"]] == [1, 2, 3]
    assert [x["judge_id"] for x in result["excluded_sheets"]] == [harsh]
    first = result["entries"][0]
    assert first["judges"] == 2 and first["raw_mean"] == pytest.approx(8.0)
    # Judge bias is estimated, so entry 0's score sits on the fair judges' scale.
    assert first["score"] - result["entries"][1]["score"] == pytest.approx(1.0)
    assert first["standard_error"] == pytest.approx(0.0, abs=1e-6)


def _dense_reference(totals: list[tuple[int, int, float]]) -> tuple[dict, dict, dict]:
    """The textbook fit: dense design with sum-to-zero coding, sigma^2 (X'X)^-1."""
    import numpy as np

    entries = sorted({e for e, _, _ in totals})
    judges = sorted({j for _, j, _ in totals})
    n_e, n_j = len(entries), len(judges)
    p = n_e + n_j - 1

    def code(index: int, size: int) -> list[float]:
        return (
            [1.0 if i == index else 0.0 for i in range(size - 1)]
            if index < size - 1
            else [-1.0] * (size - 1)
        )

    x = np.array(
        [[1.0, *code(entries.index(e), n_e), *code(judges.index(j), n_j)] for e, j, _ in totals]
    )
    y = np.array([t for _, _, t in totals])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    sigma2 = float(((y - x @ beta) ** 2).sum()) / (len(totals) - p)
    cov = sigma2 * np.linalg.inv(x.T @ x)
    rows = np.array([[0.0, *code(i, n_e), *([0.0] * (n_j - 1))] for i in range(n_e)])
    effects = rows @ beta
    ses = np.sqrt(np.einsum("ij,jk,ik->i", rows, cov, rows))
    judge_rows = np.array([[0.0, *([0.0] * (n_e - 1)), *code(i, n_j)] for i in range(n_j)])
    return (
        dict(zip(entries, effects, strict=True)),
        dict(zip(entries, ses, strict=True)),
        dict(zip(judges, judge_rows @ beta, strict=True)),
    )


def test_additive_fit_matches_the_dense_textbook_fit_on_an_incomplete_design() -> None:
    import random

    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    totals = []
    for entry in range(12):
        # Each entry seen by 3 of 5 judges, rotating, so the design is connected.
        for judge in (entry % 5, (entry + 1) % 5, (entry + 3) % 5):
            totals.append((entry, judge, rng.uniform(0, 10)))
    fit = additive_fit(totals)
    effects, ses, biases = _dense_reference(totals)
    assert fit.effects == pytest.approx(effects)
    assert fit.standard_errors == pytest.approx(ses)
    assert fit.biases == pytest.approx(biases)
