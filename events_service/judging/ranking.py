"""Ranking of a round's entries from the judges' sheets: pure functions, no I/O.

A sheet's *total* is the weighted mean of its criterion values. Three methods turn
totals into an entry score:

- ``mean``: the plain mean of the entry's totals.
- ``zscore``: each judge's totals standardised within that judge's sheets (judges with
  fewer than ``MIN_SHEETS_FOR_Z`` sheets, or no spread, are left raw), mapped back to
  the scale with the overall mean and standard deviation, then averaged per entry.
- ``additive``: least squares fit of ``total = mu + entry effect + judge bias`` (effects
  and biases sum to zero); the score is ``mu + effect``, i.e. what an average judge
  would give, with the effect's standard error. It needs a connected judge-entry
  graph; otherwise the ranking falls back to ``zscore`` and says why.

Ties on the score (to ``SCORE_DECIMALS``) are broken by the round's chain of rules;
each entry that won or lost a tie says which rule decided it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

MEAN, ZSCORE, ADDITIVE = "mean", "zscore", "additive"
METHODS = (MEAN, ZSCORE, ADDITIVE)
MIN_SHEETS_FOR_Z = 3
SCORE_DECIMALS = 6
DEFAULT_TIE_BREAK = ("median", "judges", "earliest")


@dataclass(frozen=True)
class CriterionSpec:
    id: int
    name: str
    weight: float
    scale_min: float
    scale_max: float


@dataclass(frozen=True)
class EntrySpec:
    id: int
    # Position in submission order (creation time, then id): the "earliest" tie-break.
    order: int
    title: str = ""


@dataclass(frozen=True)
class Sheet:
    entry_id: int
    judge_id: int
    scores: Mapping[int, float]
    submitted: bool
    assignment_id: int | None = None


@dataclass(frozen=True)
class ExcludedSheet:
    entry_id: int
    judge_id: int
    assignment_id: int | None
    reason: str


@dataclass
class EntryResult:
    entry_id: int
    title: str
    rank: int | None
    score: float | None
    raw_mean: float | None
    median: float | None
    judges: int
    spread: float | None
    disagreement: bool
    effect: float | None = None
    standard_error: float | None = None
    criterion_means: dict[int, float] = field(default_factory=dict)
    # Set when this entry's place against a neighbour with the same score was decided
    # by a tie-break rule: {"rule": "median", "against": <entry id>}.
    tie_break: dict[str, object] | None = None


@dataclass(frozen=True)
class JudgeSeverity:
    """How a judge scores against the average judge, in points of the sheet total:
    negative is harsher, positive more lenient. ``basis`` says how it was estimated:
    ``model`` (the additive fit's judge bias, comparable across the whole round) or
    ``entry_means`` (the mean gap to the other sheets of the same entries, when the
    judge-entry graph is disconnected and no common scale exists); None without sheets
    to compare."""

    judge_id: int
    sheets: int
    severity: float | None
    basis: str


@dataclass
class Ranking:
    method_requested: str
    method_used: str
    fallback_reason: str | None
    connected: bool
    tie_break: list[str]
    scale_min: float
    scale_max: float
    entries: list[EntryResult]
    excluded_sheets: list[ExcludedSheet]
    residual_sd: float | None = None
    judges: list[JudgeSeverity] = field(default_factory=list)


class RankingError(ValueError):
    """The inputs cannot be ranked (no criteria, unknown method, bad tie-break rule)."""


def weighted_total(scores: Mapping[int, float], criteria: Sequence[CriterionSpec]) -> float:
    weight_sum = sum(c.weight for c in criteria)
    return sum(c.weight * scores[c.id] for c in criteria) / weight_sum


def _scale(criteria: Sequence[CriterionSpec]) -> tuple[float, float]:
    weight_sum = sum(c.weight for c in criteria)
    low = sum(c.weight * c.scale_min for c in criteria) / weight_sum
    high = sum(c.weight * c.scale_max for c in criteria) / weight_sum
    return low, high


def split_sheets(
    sheets: Iterable[Sheet], criteria: Sequence[CriterionSpec]
) -> tuple[list[Sheet], list[ExcludedSheet]]:
    """Complete submitted sheets, and the others with the reason they do not count."""
    wanted = {c.id for c in criteria}
    complete: list[Sheet] = []
    excluded: list[ExcludedSheet] = []
    for sheet in sheets:
        reason = None
        if not sheet.submitted:
            reason = "not submitted"
        elif not wanted <= set(sheet.scores):
            reason = "missing criteria"
        if reason:
            excluded.append(
                ExcludedSheet(sheet.entry_id, sheet.judge_id, sheet.assignment_id, reason)
            )
        else:
            complete.append(sheet)
    return complete, excluded


def is_connected(pairs: Iterable[tuple[int, int]]) -> bool:
    """Whether the bipartite graph of (entry, judge) pairs is one component."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for entry_id, judge_id in pairs:
        a, b = find(("e", entry_id)), find(("j", judge_id))
        if a != b:
            parent[a] = b
    roots = {find(x) for x in list(parent)}
    return len(roots) <= 1


def zscore_scores(totals: Sequence[tuple[int, int, float]]) -> dict[int, float]:
    """Entry scores from (entry, judge, total) triples by per-judge standardisation."""
    if not totals:
        return {}
    values = [t for _, _, t in totals]
    grand_mean = statistics.fmean(values)
    grand_sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    by_judge: dict[int, list[float]] = defaultdict(list)
    for _, judge, total in totals:
        by_judge[judge].append(total)
    judge_stats: dict[int, tuple[float, float]] = {}
    for judge, judge_totals in by_judge.items():
        if len(judge_totals) >= MIN_SHEETS_FOR_Z:
            sd = statistics.pstdev(judge_totals)
            if sd > 0:
                judge_stats[judge] = (statistics.fmean(judge_totals), sd)
    mapped: dict[int, list[float]] = defaultdict(list)
    for entry, judge, total in totals:
        if judge in judge_stats:
            mean, sd = judge_stats[judge]
            mapped[entry].append(grand_mean + grand_sd * (total - mean) / sd)
        else:
            mapped[entry].append(total)
    return {entry: statistics.fmean(vals) for entry, vals in mapped.items()}


@dataclass(frozen=True)
class AdditiveFit:
    mu: float
    effects: dict[int, float]
    standard_errors: dict[int, float | None]
    biases: dict[int, float]
    residual_sd: float | None


def additive_fit(totals: Sequence[tuple[int, int, float]]) -> AdditiveFit:
    """Least squares ``total = mu + a_entry + b_judge``, effects and biases summing to zero.

    Solved through the normal equations' block structure rather than a dense design
    matrix: with per-entry levels ``c_e`` and judge biases ``b_j`` (last judge = 0),
    ``D c + N b = s_e`` and ``N'c + D_j b = s_j``, where D and D_j hold the sheet counts
    and N the entry x judge counts. Eliminating c leaves a (J-1) x (J-1) Schur system
    ``S b = s_j - N'D^-1 s_e``, so the cost grows with sheets x judges^2, not with
    entries^2. The reported effect is ``c_e - mean(c)`` (the same fit as sum-to-zero
    coding) and its standard error comes from the block inverse of X'X scaled by
    sigma^2 = RSS / (n - E - J + 1); with no residual degrees of freedom it is None.
    """
    entries = sorted({e for e, _, _ in totals})
    judges = sorted({j for _, j, _ in totals})
    e_index = {e: i for i, e in enumerate(entries)}
    j_index = {j: i for i, j in enumerate(judges)}
    n_e, n_j = len(entries), len(judges)
    ei = np.fromiter((e_index[e] for e, _, _ in totals), dtype=np.intp, count=len(totals))
    ji = np.fromiter((j_index[j] for _, j, _ in totals), dtype=np.intp, count=len(totals))
    y = np.fromiter((t for _, _, t in totals), dtype=float, count=len(totals))

    d = np.bincount(ei, minlength=n_e).astype(float)
    s_e = np.bincount(ei, weights=y, minlength=n_e)
    counts = np.zeros((n_e, n_j))
    np.add.at(counts, (ei, ji), 1.0)
    n_mat = counts[:, : n_j - 1]  # the last judge is the reference (bias 0)
    w = n_mat / d[:, None]  # D^-1 N
    if n_j > 1:
        s_j = np.bincount(ji, weights=y, minlength=n_j)[: n_j - 1]
        d_j = np.bincount(ji, minlength=n_j)[: n_j - 1].astype(float)
        schur = np.diag(d_j) - n_mat.T @ w
        try:
            schur_inv = np.linalg.inv(schur)
        except np.linalg.LinAlgError:
            raise RankingError("the judge-entry design is singular") from None
        b = schur_inv @ (s_j - w.T @ s_e)
    else:
        schur_inv = np.zeros((0, 0))
        b = np.zeros(0)
    levels = (s_e - n_mat @ b) / d
    bias_full = np.append(b, 0.0)
    residuals = y - levels[ei] - bias_full[ji]
    dof = len(totals) - (n_e + n_j - 1)
    sigma2 = float(residuals @ residuals) / dof if dof > 0 else None

    effects = levels - levels.mean()
    ses: list[float | None] = [None] * n_e
    if sigma2 is not None:
        # Var(c_e - mean c) = Var c_e - 2 Cov(c_e, mean c) + Var(mean c), with
        # Cov(c) = D^-1 + W S^-1 W' (block inverse of X'X).
        w_sum = w.sum(axis=0)
        ws = w @ schur_inv
        var_c = 1.0 / d + np.einsum("ij,ij->i", ws, w)
        cov_c_mean = (1.0 / d + ws @ w_sum) / n_e
        var_mean = (np.sum(1.0 / d) + w_sum @ schur_inv @ w_sum) / n_e**2
        variances = (var_c - 2 * cov_c_mean + var_mean) * sigma2
        ses = [math.sqrt(max(float(v), 0.0)) for v in variances]
    centred_bias = bias_full - bias_full.mean()
    return AdditiveFit(
        mu=float(levels.mean() + bias_full.mean()),
        effects={e: float(effects[i]) for i, e in enumerate(entries)},
        standard_errors={e: ses[i] for i, e in enumerate(entries)},
        biases={j: float(centred_bias[i]) for i, j in enumerate(judges)},
        residual_sd=math.sqrt(sigma2) if sigma2 is not None else None,
    )


def judge_severities(
    totals: Sequence[tuple[int, int, float]], fit: AdditiveFit | None, connected: bool
) -> list[JudgeSeverity]:
    """Each judge's estimated severity (see JudgeSeverity), judges in id order.

    Whatever the ranking method, a connected round gets the additive fit's biases (fitted
    here if the method did not need it), so the figure means the same in every round."""
    sheets: dict[int, int] = defaultdict(int)
    for _, judge, _ in totals:
        sheets[judge] += 1
    if fit is None and connected and totals:
        try:
            fit = additive_fit(totals)
        except RankingError:
            fit = None
    if fit is not None:
        return [JudgeSeverity(j, sheets[j], fit.biases[j], "model") for j in sorted(sheets)]
    by_entry: dict[int, list[float]] = defaultdict(list)
    for entry, _, total in totals:
        by_entry[entry].append(total)
    gaps: dict[int, list[float]] = defaultdict(list)
    for entry, judge, total in totals:
        others = by_entry[entry]
        if len(others) > 1:
            gaps[judge].append(total - (sum(others) - total) / (len(others) - 1))
    return [
        JudgeSeverity(j, sheets[j], statistics.fmean(gaps[j]) if gaps[j] else None, "entry_means")
        for j in sorted(sheets)
    ]


def _check_tie_break(rules: Sequence[str], criteria: Sequence[CriterionSpec]) -> None:
    ids = {c.id for c in criteria}
    for rule in rules:
        if rule in ("median", "judges", "earliest", "raw_mean"):
            continue
        name, _, value = rule.partition(":")
        if name == "criterion" and value.isdigit() and int(value) in ids:
            continue
        raise RankingError(f"unknown tie-break rule {rule!r}")


def _tie_key(rule: str, result: EntryResult, order: int) -> float:
    """Bigger is better for every rule (earliest is negated)."""
    if rule == "median":
        return result.median if result.median is not None else -math.inf
    if rule == "raw_mean":
        return result.raw_mean if result.raw_mean is not None else -math.inf
    if rule == "judges":
        return float(result.judges)
    if rule == "earliest":
        return float(-order)
    criterion_id = int(rule.split(":", 1)[1])
    return result.criterion_means.get(criterion_id, -math.inf)


def rank(
    entries: Sequence[EntrySpec],
    criteria: Sequence[CriterionSpec],
    sheets: Iterable[Sheet],
    method: str = ADDITIVE,
    tie_break: Sequence[str] = DEFAULT_TIE_BREAK,
    disagreement_threshold: float = 0.3,
) -> Ranking:
    """Rank the entries. Entries without a complete sheet come last, unranked."""
    if not criteria:
        raise RankingError("the round has no criteria")
    if method not in METHODS:
        raise RankingError(f"unknown ranking method {method!r}")
    _check_tie_break(tie_break, criteria)
    scale_min, scale_max = _scale(criteria)
    known = {e.id for e in entries}
    complete, excluded = split_sheets((s for s in sheets if s.entry_id in known), criteria)

    totals = [(s.entry_id, s.judge_id, weighted_total(s.scores, criteria)) for s in complete]
    per_entry: dict[int, list[float]] = defaultdict(list)
    per_entry_criterion: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sheet, (entry, _, total) in zip(complete, totals, strict=True):
        per_entry[entry].append(total)
        for c in criteria:
            per_entry_criterion[entry][c.id].append(sheet.scores[c.id])

    connected = is_connected((e, j) for e, j, _ in totals)
    method_used, fallback_reason = method, None
    fit: AdditiveFit | None = None
    if method == ADDITIVE:
        if not totals:
            method_used = ZSCORE
            fallback_reason = "no complete sheets"
        elif not connected:
            method_used = ZSCORE
            fallback_reason = (
                "the judge-entry graph is disconnected, so judge biases cannot be "
                "separated from entry quality; per-judge z-scores are used instead"
            )
        else:
            try:
                fit = additive_fit(totals)
            except RankingError as exc:
                method_used, fallback_reason = ZSCORE, str(exc)
    z_scores = zscore_scores(totals) if method_used == ZSCORE else {}

    results: list[EntryResult] = []
    range_ = scale_max - scale_min
    for spec in entries:
        values = per_entry.get(spec.id, [])
        if not values:
            results.append(EntryResult(spec.id, spec.title, None, None, None, None, 0, None, False))
            continue
        raw_mean = statistics.fmean(values)
        spread = max(values) - min(values)
        if method_used == MEAN:
            score = raw_mean
        elif method_used == ZSCORE:
            score = z_scores[spec.id]
        else:
            assert fit is not None
            score = fit.mu + fit.effects[spec.id]
        results.append(
            EntryResult(
                entry_id=spec.id,
                title=spec.title,
                rank=None,
                score=score,
                raw_mean=raw_mean,
                median=statistics.median(values),
                judges=len(values),
                spread=spread,
                disagreement=range_ > 0 and spread > disagreement_threshold * range_,
                effect=fit.effects[spec.id] if fit else None,
                standard_error=fit.standard_errors[spec.id] if fit else None,
                criterion_means={
                    cid: statistics.fmean(v) for cid, v in per_entry_criterion[spec.id].items()
                },
            )
        )
    _assign_ranks(results, {e.id: e.order for e in entries}, list(tie_break))
    return Ranking(
        method_requested=method,
        method_used=method_used,
        fallback_reason=fallback_reason,
        connected=connected,
        tie_break=list(tie_break),
        scale_min=scale_min,
        scale_max=scale_max,
        entries=results,
        excluded_sheets=excluded,
        residual_sd=fit.residual_sd if fit else None,
        judges=judge_severities(totals, fit, connected),
    )


def _assign_ranks(results: list[EntryResult], order: dict[int, int], chain: list[str]) -> None:
    """Sort in place by score then the chain; equal on everything means equal rank."""

    def key(r: EntryResult) -> tuple[float, ...]:
        return (
            round(r.score, SCORE_DECIMALS),
            *(_tie_key(rule, r, order[r.entry_id]) for rule in chain),
        )

    ranked = sorted((r for r in results if r.score is not None), key=lambda r: key(r), reverse=True)
    unranked = sorted((r for r in results if r.score is None), key=lambda r: order[r.entry_id])
    previous: EntryResult | None = None
    for position, result in enumerate(ranked, start=1):
        result.rank = position
        if previous is not None and round(previous.score or 0, SCORE_DECIMALS) == round(
            result.score or 0, SCORE_DECIMALS
        ):
            rule = next(
                (
                    rule
                    for rule in chain
                    if _tie_key(rule, previous, order[previous.entry_id])
                    != _tie_key(rule, result, order[result.entry_id])
                ),
                None,
            )
            if rule is None:
                result.rank = previous.rank
                result.tie_break = {"rule": "unbroken", "against": previous.entry_id}
            else:
                result.tie_break = {"rule": rule, "against": previous.entry_id}
                if previous.tie_break is None:
                    previous.tie_break = {"rule": rule, "against": result.entry_id}
        previous = result
    results[:] = [*ranked, *unranked]
